"""cloudwatch.py -- a deterministic CloudWatch: GetMetricData, ListMetrics, DescribeAlarms.

Enabled with the control key `cloudwatch` (a JSON object, or true for the
defaults). Every value is a pure function of the series and the timestamp, so a
test computes what awstopo must have written (`value()` below) and compares
exactly. Over the json protocol (what awstopo's client speaks for CloudWatch).

Settings:
  series       list of {"Namespace", "MetricName", "Dimensions": [{"Name","Value"}]}:
               the metrics that exist. ListMetrics lists them (RecentlyActive
               ignored: all are recent); GetMetricData answers a query for any
               other series with no datapoints. Absent: every series exists.
  missing      list of "MetricName" or "MetricName:DimensionValue": series that do
               not exist (never listed, no datapoints)
  no_data      the same: series that exist but have no datapoints in any window
  page_points  datapoints per GetMetricData page (default 100800, as AWS); more
               go to further pages behind a NextToken, the queries cut short
               carrying StatusCode PartialData
  list_page    metrics per ListMetrics page (default 500)
  messages     [{"Code", "Value"}] every GetMetricData answer carries
  alarms       DescribeAlarms: {"MetricAlarms": [...], "CompositeAlarms": [...]},
               each answered in the region its AlarmArn names, paged by
               MaxRecords (default 50)

Like AWS: more than 500 queries, duplicate or malformed query ids, or a
StartTime not before EndTime are a 400 ValidationError.
"""
import json
import re
import zlib

MAX_QUERIES = 500
ID = re.compile(r"^[a-z][a-zA-Z0-9_]*$")


class BadRequest(Exception):
    def __init__(self, message):
        super().__init__(message)
        self.code = "ValidationError"
        self.message = message


def series_key(namespace, metric, dims):
    return "%s|%s|%s" % (namespace, metric,
                         ",".join("%s=%s" % (d["Name"], d["Value"])
                                  for d in sorted(dims or [], key=lambda d: d["Name"])))


def value(namespace, metric, dims, stat, ts):
    """The datapoint of a series at ts (epoch seconds): awkward doubles on purpose,
    so that printing them exactly matters."""
    h = zlib.crc32(("%s|%s" % (series_key(namespace, metric, dims), stat)).encode())
    return ((h + int(ts) // 60) % 100003) / 7.0


def _named(spec_list, metric, dims):
    for spec in spec_list or []:
        name, _, dim_value = spec.partition(":")
        if name == metric and (not dim_value or any(d["Value"] == dim_value for d in dims or [])):
            return True
    return False


class CloudWatch:
    OPERATIONS = ("GetMetricData", "ListMetrics", "DescribeAlarms")

    def __init__(self, cfg):
        cfg = cfg if isinstance(cfg, dict) else {}
        unknown = set(cfg) - {"series", "missing", "no_data", "page_points", "list_page", "alarms", "messages"}
        if unknown:
            raise ValueError("unknown cloudwatch keys: " + ", ".join(sorted(unknown)))
        self.series = cfg.get("series")
        self.known = None if self.series is None else {
            series_key(s["Namespace"], s["MetricName"], s.get("Dimensions")) for s in self.series}
        self.missing = cfg.get("missing") or []
        self.no_data = cfg.get("no_data") or []
        self.page_points = int(cfg.get("page_points") or 100800)
        self.list_page = int(cfg.get("list_page") or 500)
        self.alarms = cfg.get("alarms") or {}
        self.messages = cfg.get("messages") or []

    def handles(self, service, operation):
        return service == "cloudwatch" and operation in self.OPERATIONS

    def exists(self, namespace, metric, dims):
        if _named(self.missing, metric, dims):
            return False
        return self.known is None or series_key(namespace, metric, dims) in self.known

    def respond(self, operation, params, region):
        return json.dumps(getattr(self, "_" + operation)(params, region)).encode()

    # --- GetMetricData ---

    def _points(self, q, start, end, period_default):
        stat = q.get("MetricStat") or {}
        metric = stat.get("Metric") or {}
        ns, name, dims = metric.get("Namespace"), metric.get("MetricName"), metric.get("Dimensions") or []
        if not self.exists(ns, name, dims) or _named(self.no_data, name, dims):
            return []
        period = int(stat.get("Period") or period_default)
        first = -(-int(start) // period) * period
        return [(t, value(ns, name, dims, stat.get("Stat"), t)) for t in range(first, int(end), period)]

    def _GetMetricData(self, p, _region):
        queries = p.get("MetricDataQueries") or []
        if len(queries) > MAX_QUERIES:
            raise BadRequest("The collection MetricDataQueries must not have a size greater than 500.")
        ids = [q.get("Id") for q in queries]
        if len(set(ids)) != len(ids) or not all(isinstance(i, str) and ID.match(i) for i in ids):
            raise BadRequest("The values for parameter id in MetricDataQueries are not unique or not valid.")
        start, end = float(p["StartTime"]), float(p["EndTime"])
        if start >= end:
            raise BadRequest("The parameter StartTime must be less than the parameter EndTime.")
        descending = p.get("ScanBy", "TimestampDescending") == "TimestampDescending"
        flat = []                          # (query index, timestamp, value), the order pages cut in
        per_query = []
        for i, q in enumerate(queries):
            pts = self._points(q, start, end, 60)
            if descending:
                pts.reverse()
            per_query.append(len(pts))
            flat.extend((i, t, v) for t, v in pts)
        offset = int(p.get("NextToken") or 0)
        page = flat[offset:offset + self.page_points]
        rest = offset + len(page) < len(flat)
        results, by_id = [], {}
        if offset == 0:                    # every query answers on the first page
            for q in queries:
                by_id[q["Id"]] = {"Id": q["Id"], "Label": (q.get("MetricStat") or {}).get("Metric", {}).get("MetricName", ""),
                                  "Timestamps": [], "Values": [], "StatusCode": "Complete"}
                results.append(by_id[q["Id"]])
        for i, t, v in page:
            qid = queries[i]["Id"]
            if qid not in by_id:
                by_id[qid] = {"Id": qid, "Label": "", "Timestamps": [], "Values": [], "StatusCode": "Complete"}
                results.append(by_id[qid])
            by_id[qid]["Timestamps"].append(t)
            by_id[qid]["Values"].append(v)
        if rest:                           # queries with points beyond this page: partial
            later = {flat[k][0] for k in range(offset + len(page), len(flat))}
            for i in later:
                if queries[i]["Id"] in by_id:
                    by_id[queries[i]["Id"]]["StatusCode"] = "PartialData"
        out = {"MetricDataResults": results, "Messages": self.messages}
        if rest:
            out["NextToken"] = str(offset + len(page))
        return out

    # --- ListMetrics ---

    def _ListMetrics(self, p, _region):
        listed = []
        for s in self.series or []:
            if p.get("Namespace") and s["Namespace"] != p["Namespace"]:
                continue
            if p.get("MetricName") and s["MetricName"] != p["MetricName"]:
                continue
            if _named(self.missing, s["MetricName"], s.get("Dimensions")):
                continue
            listed.append({"Namespace": s["Namespace"], "MetricName": s["MetricName"],
                           "Dimensions": s.get("Dimensions") or []})
        offset = int(p.get("NextToken") or 0)
        out = {"Metrics": listed[offset:offset + self.list_page]}
        if offset + self.list_page < len(listed):
            out["NextToken"] = str(offset + self.list_page)
        return out

    # --- DescribeAlarms ---

    def _DescribeAlarms(self, p, region):
        types = p.get("AlarmTypes") or ["MetricAlarm"]

        def here(alarm):
            return alarm["AlarmArn"].split(":")[3] == region
        every = [("MetricAlarms", a) for a in self.alarms.get("MetricAlarms", [])
                 if "MetricAlarm" in types and here(a)]
        every += [("CompositeAlarms", a) for a in self.alarms.get("CompositeAlarms", [])
                  if "CompositeAlarm" in types and here(a)]
        size = int(p.get("MaxRecords") or 50)
        offset = int(p.get("NextToken") or 0)
        out = {"MetricAlarms": [], "CompositeAlarms": []}
        for kind, alarm in every[offset:offset + size]:
            out[kind].append(alarm)
        if offset + size < len(every):
            out["NextToken"] = str(offset + size)
        return out
