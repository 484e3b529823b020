"""botocore_scan.py -- the reference for bench_full_scan.py: a full-account scan in Python.

What a careful user would write with botocore instead of awstopo: the same
calls as the 19 bundled mappings (list calls paginated with the mappings' page
sizes, per-resource calls for what the lists lack, tags from the Resource
Groups Tagging API where the mappings use it), per-resource calls spread over
a thread pool of 64 (awstopo allows 16 in flight per service), each
resource turned into a component (externalId, type, data with tags, labels,
location) and the relations it names, all written as one JSON document.

    /usr/bin/python3 bench/botocore_scan.py ENDPOINT REGION ACCOUNT OUTPUT

Credentials from the environment. Prints "components relations calls".
"""

import json
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import botocore.session
from botocore.config import Config

ENDPOINT, REGION, ACCOUNT, OUTPUT = sys.argv[1:5]
SESSION = botocore.session.get_session()
CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, max_pool_connections=16)
POOL = ThreadPoolExecutor(max_workers=64)
LOCK = threading.Lock()
COMPONENTS, RELATIONS = {}, {}
CALLS = [0]
CLIENTS = {}


def client(service):
    with LOCK:
        if service not in CLIENTS:
            CLIENTS[service] = SESSION.create_client(service, region_name=REGION, endpoint_url=ENDPOINT,
                                                     config=CONFIG)
        return CLIENTS[service]


def call(service, op, **params):
    with LOCK:
        CALLS[0] += 1
    return getattr(client(service), op)(**params)


def pages(service, op, **params):
    for page in client(service).get_paginator(op).paginate(**params):
        with LOCK:
            CALLS[0] += 1
        yield page


def each(fn, items):
    """fn(item) for every item, on the pool; returns when all are done."""
    for f in [POOL.submit(fn, item) for item in items]:
        f.result()


def tag_map(tags, key="Key", value="Value"):
    if isinstance(tags, dict):
        return dict(tags)
    return {t[key]: t[value] for t in tags or []}


def component(ctype, cid, name, data, tags=None):
    tags = tag_map(tags)
    data = dict(data, Tags=tags, Name=name, Location={"AwsAccount": ACCOUNT, "AwsRegion": REGION},
                labels=["%s:%s" % kv for kv in sorted(tags.items())])
    with LOCK:
        COMPONENTS[cid] = {"externalId": cid, "type": {"name": ctype}, "data": data}


def relation(source, rtype, target):
    if source and target:
        rid = "%s-%s-%s" % (source, rtype, target)
        with LOCK:
            RELATIONS[rid] = {"externalId": rid, "type": {"name": rtype}, "sourceId": source,
                              "targetId": target, "data": {}}


def arn(service, resource):
    return "arn:aws:%s:%s:%s:%s" % (service, REGION, ACCOUNT, resource)


def tagging_index(resource_type):
    index = {}
    for page in pages("resourcegroupstaggingapi", "get_resources", ResourceTypeFilters=[resource_type],
                      ResourcesPerPage=100):
        for m in page["ResourceTagMappingList"]:
            index[m["ResourceARN"]] = m["Tags"]
    return index


# --- the services, in the order of the mappings -------------------------------------

def scan_ec2():
    for page in pages("ec2", "describe_instances", MaxResults=1000):
        for r in page["Reservations"]:
            for i in r["Instances"]:
                iid = arn("ec2", "instance/" + i["InstanceId"])
                component("aws.ec2.instance", iid, i["InstanceId"], i, i.get("Tags"))
                relation(iid, "runs-in", arn("ec2", "subnet/" + i["SubnetId"]))
                for g in i.get("SecurityGroups", []):
                    relation(iid, "uses", arn("ec2", "security-group/" + g["GroupId"]))
    for page in pages("ec2", "describe_security_groups", MaxResults=1000):
        for g in page["SecurityGroups"]:
            gid = arn("ec2", "security-group/" + g["GroupId"])
            component("aws.ec2.security-group", gid, g["GroupName"], g, g.get("Tags"))
            relation(gid, "belongs-to", arn("ec2", "vpc/" + g["VpcId"]))


def scan_vpc():
    for page in pages("ec2", "describe_vpcs", MaxResults=1000):
        for v in page["Vpcs"]:
            component("aws.ec2.vpc", arn("ec2", "vpc/" + v["VpcId"]), v["VpcId"], v, v.get("Tags"))
    for page in pages("ec2", "describe_subnets", MaxResults=1000):
        for s in page["Subnets"]:
            sid = arn("ec2", "subnet/" + s["SubnetId"])
            component("aws.ec2.subnet", sid, s["SubnetId"], s, s.get("Tags"))
            relation(sid, "belongs-to", arn("ec2", "vpc/" + s["VpcId"]))


def scan_vpngateway():
    for g in call("ec2", "describe_vpn_gateways")["VpnGateways"]:
        gid = arn("ec2", "vpn-gateway/" + g["VpnGatewayId"])
        component("aws.ec2.vpn-gateway", gid, g["VpnGatewayId"], g, g.get("Tags"))
        for a in g.get("VpcAttachments", []):
            relation(gid, "attached-to", arn("ec2", "vpc/" + a["VpcId"]))


def scan_sqs():
    index = None
    for page in pages("sqs", "list_queues", MaxResults=1000):
        if index is None:
            index = tagging_index("sqs")

        def one(url):
            attrs = call("sqs", "get_queue_attributes", QueueUrl=url, AttributeNames=["All"])["Attributes"]
            qarn = attrs["QueueArn"]
            component("aws.sqs.queue", qarn, url.rsplit("/", 1)[1], dict(attrs, QueueUrl=url), index.get(qarn))
            if "RedrivePolicy" in attrs:
                relation(qarn, "uses", json.loads(attrs["RedrivePolicy"])["deadLetterTargetArn"])
        each(one, page.get("QueueUrls", []))


def scan_sns():
    index = None
    for page in pages("sns", "list_topics"):
        if index is None:
            index = tagging_index("sns")

        def one(t):
            tarn = t["TopicArn"]
            attrs = call("sns", "get_topic_attributes", TopicArn=tarn)["Attributes"]
            component("aws.sns.topic", tarn, tarn.rsplit(":", 1)[1], attrs, index.get(tarn))
            for p in pages("sns", "list_subscriptions_by_topic", TopicArn=tarn):
                for s in p["Subscriptions"]:
                    relation(tarn, "publishes-to", s["Endpoint"])
        each(one, page["Topics"])


def scan_lambda():
    index = None
    for page in pages("lambda", "list_functions"):
        if index is None:
            index = tagging_index("lambda:function")

        def one(f):
            farn = f["FunctionArn"]
            component("aws.lambda.function", farn, f["FunctionName"], f, index.get(farn))
            for sn in f.get("VpcConfig", {}).get("SubnetIds", []):
                relation(farn, "runs-in", arn("ec2", "subnet/" + sn))
            for p in pages("lambda", "list_aliases", FunctionName=f["FunctionName"]):
                for a in p["Aliases"]:
                    component("aws.lambda.alias", a["AliasArn"], a["Name"], a)
                    relation(a["AliasArn"], "uses", farn)
        each(one, page["Functions"])
    for page in pages("lambda", "list_event_source_mappings"):
        for m in page["EventSourceMappings"]:
            relation(m["EventSourceArn"], "triggers", m["FunctionArn"])


def scan_dynamodb():
    index = None
    for page in pages("dynamodb", "list_tables"):
        if index is None:
            index = tagging_index("dynamodb:table")

        def one(name):
            t = call("dynamodb", "describe_table", TableName=name)["Table"]
            component("aws.dynamodb.table", t["TableArn"], name, t, index.get(t["TableArn"]))
            if t.get("LatestStreamArn"):
                component("aws.dynamodb.stream", t["LatestStreamArn"], name, {"StreamArn": t["LatestStreamArn"]})
                relation(t["TableArn"], "has", t["LatestStreamArn"])
        each(one, page["TableNames"])


def scan_kinesis():
    index = None
    for page in pages("kinesis", "list_streams"):
        if index is None:
            index = tagging_index("kinesis:stream")

        def one(name):
            s = call("kinesis", "describe_stream_summary", StreamName=name)["StreamDescriptionSummary"]
            component("aws.kinesis.stream", s["StreamARN"], name, s, index.get(s["StreamARN"]))
        each(one, page["StreamNames"])


def scan_firehose():
    index, params = None, {"Limit": 10}
    while True:
        page = call("firehose", "list_delivery_streams", **params)
        names = page["DeliveryStreamNames"]
        if index is None and names:
            index = tagging_index("firehose:deliverystream")

        def one(name):
            d = call("firehose", "describe_delivery_stream", DeliveryStreamName=name)["DeliveryStreamDescription"]
            component("aws.firehose.delivery-stream", d["DeliveryStreamARN"], name, d, index.get(d["DeliveryStreamARN"]))
            src = d.get("Source", {}).get("KinesisStreamSourceDescription")
            if src:
                relation(src["KinesisStreamARN"], "publishes-to", d["DeliveryStreamARN"])
        each(one, names)
        if not page.get("HasMoreDeliveryStreams") or not names:
            break
        params = {"Limit": 10000, "ExclusiveStartDeliveryStreamName": names[-1]}


def scan_s3():
    for page in pages("s3", "list_buckets", MaxBuckets=1000):
        def one(b):
            name = b["Name"]
            try:
                tags = call("s3", "get_bucket_tagging", Bucket=name)["TagSet"]
            except client("s3").exceptions.ClientError:
                tags = []
            bid = "arn:aws:s3:::" + name
            component("aws.s3.bucket", bid, name, b, tags)
            n = call("s3", "get_bucket_notification_configuration", Bucket=name)
            for c in n.get("LambdaFunctionConfigurations", []):
                relation(bid, "publishes-to", c["LambdaFunctionArn"])
        each(one, page["Buckets"])


def scan_rds():
    known = {}
    for page in pages("rds", "describe_db_instances", MaxRecords=100):
        for d in page["DBInstances"]:
            component("aws.rds.instance", d["DBInstanceArn"], d["DBInstanceIdentifier"], d, d.get("TagList"))
            g = d.get("DBSubnetGroup") or {}
            known[g.get("DBSubnetGroupName")] = g.get("VpcId")
    for page in pages("rds", "describe_db_clusters", MaxRecords=100):
        missing = sorted({c["DBSubnetGroup"] for c in page["DBClusters"]} - set(known))

        def learn(name):
            known[name] = call("rds", "describe_db_subnet_groups", DBSubnetGroupName=name)["DBSubnetGroups"][0]["VpcId"]
        each(learn, missing)
        for c in page["DBClusters"]:
            component("aws.rds.cluster", c["DBClusterArn"], c["DBClusterIdentifier"], c, c.get("TagList"))
            for m in c.get("DBClusterMembers", []):
                relation(c["DBClusterArn"], "has", arn("rds", "db:" + m["DBInstanceIdentifier"]))
            relation(c["DBClusterArn"], "runs-in", arn("ec2", "vpc/%s" % known.get(c["DBSubnetGroup"])))


def scan_redshift():
    for page in pages("redshift", "describe_clusters", MaxRecords=100):
        for c in page["Clusters"]:
            cid = arn("redshift", "cluster:" + c["ClusterIdentifier"])
            component("aws.redshift.cluster", cid, c["ClusterIdentifier"], c, c.get("Tags"))
            relation(cid, "runs-in", arn("ec2", "vpc/" + c["VpcId"]))


def scan_elb():
    for page in pages("elb", "describe_load_balancers", PageSize=400):
        lbs = page["LoadBalancerDescriptions"]

        def tags_of(chunk):
            return call("elb", "describe_tags", LoadBalancerNames=[lb["LoadBalancerName"] for lb in chunk])
        tagged = {}
        for f in [POOL.submit(tags_of, lbs[i:i + 20]) for i in range(0, len(lbs), 20)]:
            for d in f.result()["TagDescriptions"]:
                tagged[d["LoadBalancerName"]] = d["Tags"]
        for lb in lbs:
            lid = arn("elasticloadbalancing", "loadbalancer/" + lb["LoadBalancerName"])
            component("aws.elb.load-balancer", lid, lb["LoadBalancerName"], lb, tagged.get(lb["LoadBalancerName"]))
            for i in lb.get("Instances", []):
                relation(lid, "routes-to", arn("ec2", "instance/" + i["InstanceId"]))


def scan_elbv2():
    arns, lbs, tgs = [], [], []
    for page in pages("elbv2", "describe_load_balancers", PageSize=400):
        lbs += page["LoadBalancers"]
    for page in pages("elbv2", "describe_target_groups", PageSize=400):
        tgs += page["TargetGroups"]
    arns = [lb["LoadBalancerArn"] for lb in lbs] + [tg["TargetGroupArn"] for tg in tgs]
    tagged = {}
    for f in [POOL.submit(call, "elbv2", "describe_tags", ResourceArns=arns[i:i + 20])
              for i in range(0, len(arns), 20)]:
        for d in f.result()["TagDescriptions"]:
            tagged[d["ResourceArn"]] = d["Tags"]
    for lb in lbs:
        component("aws.elbv2.application-load-balancer", lb["LoadBalancerArn"], lb["LoadBalancerName"], lb,
                  tagged.get(lb["LoadBalancerArn"]))

    def one(tg):
        tid = tg["TargetGroupArn"]
        component("aws.elbv2.target-group", tid, tg["TargetGroupName"], tg, tagged.get(tid))
        for lb in tg.get("LoadBalancerArns", []):
            relation(lb, "routes-to", tid)
        for t in call("elbv2", "describe_target_health", TargetGroupArn=tid)["TargetHealthDescriptions"]:
            relation(tid, "routes-to", arn("ec2", "instance/" + t["Target"]["Id"]))
    each(one, tgs)


def scan_autoscaling():
    for page in pages("autoscaling", "describe_auto_scaling_groups", MaxRecords=100):
        for g in page["AutoScalingGroups"]:
            gid = g["AutoScalingGroupARN"]
            component("aws.autoscaling.group", gid, g["AutoScalingGroupName"], g, g.get("Tags"))
            for i in g.get("Instances", []):
                relation(gid, "has", arn("ec2", "instance/" + i["InstanceId"]))
            for t in g.get("TargetGroupARNs", []):
                relation(t, "routes-to", gid)


def scan_ecs():
    for page in pages("ecs", "list_clusters", maxResults=100):
        clusters = call("ecs", "describe_clusters", clusters=page["clusterArns"], include=["TAGS"])["clusters"]

        def one(c):
            cid = c["clusterArn"]
            component("aws.ecs.cluster", cid, c["clusterName"], c, tag_map(c.get("tags"), "key", "value"))
            for op, key, describe, dkey, batch, item_key in (
                    ("list_services", "serviceArns", "describe_services", "services", 10, "services"),
                    ("list_tasks", "taskArns", "describe_tasks", "tasks", 100, "tasks"),
                    ("list_container_instances", "containerInstanceArns", "describe_container_instances",
                     "containerInstances", 100, "containerInstances")):
                refs = []
                for p in pages("ecs", op, cluster=cid, maxResults=100):
                    refs += p[key]
                for i in range(0, len(refs), batch):
                    extra = {"include": ["TAGS"]} if dkey != "containerInstances" else {}
                    for item in call("ecs", describe, cluster=cid, **{dkey: refs[i:i + batch]}, **extra)[item_key]:
                        if dkey == "services":
                            component("aws.ecs.service", item["serviceArn"], item["serviceName"], item)
                            relation(cid, "has", item["serviceArn"])
                            for lb in item.get("loadBalancers", []):
                                relation(lb["targetGroupArn"], "routes-to", item["serviceArn"])
                        elif dkey == "tasks":
                            component("aws.ecs.task", item["taskArn"], item["taskArn"].rsplit("/", 1)[1], item)
                            relation(item["taskArn"], "runs-on", item.get("containerInstanceArn"))
                        else:
                            relation(cid, "has", arn("ec2", "instance/" + item["ec2InstanceId"]))
        each(one, clusters)


def scan_cloudformation():
    stacks, groups = [], {}     # Auto Scaling group name -> stacks, asked in batches of 100 at the end
    for page in pages("cloudformation", "describe_stacks"):
        stacks += page["Stacks"]

    def one(s):
        sid = s["StackId"]
        component("aws.cloudformation.stack", sid, s["StackName"], s, s.get("Tags"))
        for p in pages("cloudformation", "list_stack_resources", StackName=sid):
            for r in p["StackResourceSummaries"]:
                relation(sid, "has", r["PhysicalResourceId"])
                if r["ResourceType"] == "AWS::AutoScaling::AutoScalingGroup":
                    with LOCK:
                        groups.setdefault(r["PhysicalResourceId"], []).append(sid)
    each(one, stacks)
    names = sorted(groups)

    def batch(chunk):
        # (IncludeInstances=False, as the mapping: not in Debian's botocore)
        for p in pages("autoscaling", "describe_auto_scaling_groups", AutoScalingGroupNames=chunk, MaxRecords=100):
            for g in p["AutoScalingGroups"]:
                for sid in groups[g["AutoScalingGroupName"]]:
                    relation(sid, "has", g["AutoScalingGroupARN"])
    each(batch, [names[i:i + 100] for i in range(0, len(names), 100)])


def scan_route53():
    zones = []
    for page in pages("route53", "list_hosted_zones", MaxItems="100"):
        zones += page["HostedZones"]
    ids = [z["Id"].rsplit("/", 1)[1] for z in zones]
    tagged = {}
    for i in range(0, len(ids), 10):
        for t in call("route53", "list_tags_for_resources", ResourceType="hostedzone",
                      ResourceIds=ids[i:i + 10])["ResourceTagSets"]:
            tagged[t["ResourceId"]] = t["Tags"]

    def one(z):
        zid = z["Id"].rsplit("/", 1)[1]
        zarn = "arn:aws:route53:::hostedzone/" + zid
        component("aws.route53.hosted-zone", zarn, z["Name"], z, tagged.get(zid))
        for p in pages("route53", "list_resource_record_sets", HostedZoneId=zid):
            for r in p["ResourceRecordSets"]:
                if r["Type"] in ("NS", "SOA"):
                    continue
                rid = "%s/%s/%s" % (zarn, r["Name"], r["Type"])
                component("aws.route53.record-set", rid, r["Name"], r)
                relation(zarn, "has", rid)
                target = (r.get("AliasTarget") or {}).get("DNSName") or (r.get("ResourceRecords") or [{}])[0].get("Value")
                relation(rid, "routes-to", target)
    each(one, zones)


def scan_apigateway():
    for page in pages("apigateway", "get_rest_apis", limit=500):
        def one(api):
            aid = "arn:aws:apigateway:%s::/restapis/%s" % (REGION, api["id"])
            component("aws.apigateway.rest-api", aid, api["name"], api, api.get("tags"))
            for st in call("apigateway", "get_stages", restApiId=api["id"])["item"]:
                sid = "%s/stages/%s" % (aid, st["stageName"])
                component("aws.apigateway.stage", sid, st["stageName"], st, st.get("tags"))
                relation(aid, "has", sid)
            for p in pages("apigateway", "get_resources", restApiId=api["id"], embed=["methods"], limit=500):
                for r in p["items"]:
                    rid = "%s/resources/%s" % (aid, r["id"])
                    component("aws.apigateway.resource", rid, r["path"], r)
                    for verb, m in (r.get("resourceMethods") or {}).items():
                        mid = "%s/methods/%s" % (rid, verb)
                        component("aws.apigateway.method", mid, verb, m)
                        relation(rid, "has", mid)
                        relation(mid, "uses", (m.get("methodIntegration") or {}).get("uri"))
        each(one, page["items"])


SCANS = [scan_apigateway, scan_autoscaling, scan_cloudformation, scan_dynamodb, scan_ec2, scan_ecs, scan_elb,
         scan_elbv2, scan_firehose, scan_kinesis, scan_lambda, scan_rds, scan_redshift, scan_route53, scan_s3,
         scan_sns, scan_sqs, scan_vpc, scan_vpngateway]


def main():
    # the services side by side, like awstopo's runs (each waits on its own pool work)
    runner = ThreadPoolExecutor(max_workers=len(SCANS))
    for f in [runner.submit(scan) for scan in SCANS]:
        f.result()
    with open(OUTPUT, "w") as out:
        json.dump({"components": sorted(COMPONENTS.values(), key=lambda c: c["externalId"]),
                   "relations": sorted(RELATIONS.values(), key=lambda r: r["externalId"])}, out,
                  default=lambda o: o.isoformat())    # timestamps
    print(len(COMPONENTS), len(RELATIONS), CALLS[0])


if __name__ == "__main__":
    main()
