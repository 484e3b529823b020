"""synthetic_account.py -- a full AWS account of any size, for benchmarks.

With --synthetic-account N the fake answers every call the 19 bundled mappings
make during a scan from an account of about N resources generated on the fly
(nothing is stored, any page can be built alone): EC2 instances in VPCs with
subnets and security groups, SQS queues, SNS topics with subscriptions, Lambda
functions with aliases and event source mappings, DynamoDB tables, Kinesis
streams, Firehose delivery streams, S3 buckets, RDS instances and clusters,
Redshift clusters, classic and v2 load balancers with target groups, Auto
Scaling groups, ECS clusters, services, tasks and container instances,
CloudFormation stacks, Route 53 zones with records, API Gateway REST APIs and
VPN gateways; tags come from the Resource Groups Tagging API as the mappings
ask them. Resources name each other (the queue a function is triggered by, the
target group an ECS service uses, the instances an Auto Scaling group holds),
so relations resolve like in a real account.

Each resource is the matching item of demo/ (the recorded demo account) with
its identity and references replaced, so it carries as many fields as a real
one. Results are built in the AWS CLI's shape and written in the request's
protocol by wire.py. Lists page like AWS (the mappings' page sizes, opaque
tokens), per-resource calls answer for any resource of the account and
NotFound-style errors for others.

The same account, described without HTTP, is what bench/bench_full_scan.py's
botocore reference walks; Account(n).counts says how many of each there are.
"""

import copy
import json
import os
import re

import wire

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
OWNER = "123456789012"
SUBNETS_PER_VPC = 4
GROUPS_PER_VPC = 3

# Resources per 1,000 of the account's size (the rest are EC2 instances).
SHARE = {
    "queues": 80, "topics": 30, "functions": 80, "tables": 40, "streams": 20, "firehoses": 20,
    "buckets": 40, "db_instances": 30, "db_clusters": 5, "redshift": 5, "elbs": 10, "albs": 10,
    "target_groups": 20, "asgs": 20, "ecs_services": 20, "ecs_tasks": 40, "ecs_hosts": 10,
    "stacks": 10, "zones": 5, "apis": 5, "vpn_gateways": 1, "vpcs": 1,
}
RECORDS_PER_ZONE = 8
RESOURCES_PER_API = 4
SERVICES_PER_CLUSTER = 50


class NotFound(Exception):
    def __init__(self, code, message, status=400):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


# --- ids: pure functions of an index ----------------------------------------------

def hexid(kind, i, n=17):
    return "%0*x" % (n, (hash_kind(kind) << 32) + i)


def hash_kind(kind):
    return sum(ord(c) * 31 ** k for k, c in enumerate(kind)) % 0xfffff


def name(kind, i):
    return "syn-%s-%06d" % (kind, i)


def index_of(text):
    """The index in a synthetic name or ARN (the last syn-KIND-NNNNNN in it: an ECS
    service ARN names its cluster first)."""
    found = re.findall(r"syn-[a-z0-9]+-(\d{6})", text or "")
    if not found:
        raise NotFound("NotFound", "not a synthetic resource: %s" % text)
    return int(found[-1])


def arn(region, service, resource):
    return "arn:aws:%s:%s:%s:%s" % (service, region, OWNER, resource)


def tags(kind, i, name_tag=None):
    t = [{"Key": "team", "Value": "team-%d" % (i % 7)}, {"Key": "env", "Value": "prod"},
         {"Key": "cost-center", "Value": "CC-%04d" % (1000 + i % 50)}]
    if name_tag:
        t.insert(0, {"Key": "Name", "Value": name_tag})
    return t


# --- templates from the demo account -----------------------------------------------

def _demo(mapping, op, key=None, n=0):
    with open(os.path.join(ROOT, "demo", "eu-west-1", mapping + ".json"), encoding="utf-8") as f:
        response = json.load(f)[op][0]["response"]
    return response[key][n] if key else response


class Templates:
    def __init__(self):
        self.instance = _demo("ec2", "DescribeInstances", "Reservations")["Instances"][0]
        self.group = _demo("ec2", "DescribeSecurityGroups", "SecurityGroups", 1)
        self.vpc = _demo("vpc", "DescribeVpcs", "Vpcs")
        self.subnet = _demo("vpc", "DescribeSubnets", "Subnets")
        self.vgw = _demo("vpngateway", "DescribeVpnGateways", "VpnGateways")
        self.queue = _demo("sqs", "GetQueueAttributes")["Attributes"]
        self.topic = _demo("sns", "GetTopicAttributes")["Attributes"]
        self.function = _demo("lambda", "ListFunctions", "Functions")
        self.alias = _demo("lambda", "ListAliases", "Aliases")
        self.esm = _demo("lambda", "ListEventSourceMappings", "EventSourceMappings")
        self.table = _demo("dynamodb", "DescribeTable")["Table"]
        self.stream = _demo("kinesis", "DescribeStreamSummary")["StreamDescriptionSummary"]
        self.firehose = _demo("firehose", "DescribeDeliveryStream")["DeliveryStreamDescription"]
        self.notification = _demo("s3", "GetBucketNotificationConfiguration")
        self.db = _demo("rds", "DescribeDBInstances", "DBInstances", 0)
        self.db_cluster = _demo("rds", "DescribeDBClusters", "DBClusters")
        self.redshift = _demo("redshift", "DescribeClusters", "Clusters")
        self.elb = _demo("elb", "DescribeLoadBalancers", "LoadBalancerDescriptions")
        self.alb = _demo("elbv2", "DescribeLoadBalancers", "LoadBalancers")
        self.tg = _demo("elbv2", "DescribeTargetGroups", "TargetGroups")
        self.asg = _demo("autoscaling", "DescribeAutoScalingGroups", "AutoScalingGroups")
        self.ecs_cluster = _demo("ecs", "DescribeClusters", "clusters")
        self.ecs_service = _demo("ecs", "DescribeServices", "services")
        self.ecs_task = _demo("ecs", "DescribeTasks", "tasks")
        self.ecs_host = _demo("ecs", "DescribeContainerInstances", "containerInstances")
        self.stack = _demo("cloudformation", "DescribeStacks", "Stacks")
        self.stack_resource = _demo("cloudformation", "ListStackResources", "StackResourceSummaries")
        self.zone = _demo("route53", "ListHostedZones", "HostedZones")
        self.api = _demo("apigateway", "GetRestApis", "items")
        self.stages = _demo("apigateway", "GetStages")["item"]
        self.resources = _demo("apigateway", "GetResources", "items", 1)


def _copy(template, **fields):
    item = copy.deepcopy(template)
    item.update(fields)
    return item


class Account:
    """How many resources of each kind an account of about n resources has."""

    def __init__(self, n):
        self.n = n
        c = {k: max(1, n * share // 1000) for k, share in SHARE.items()}
        c["vpcs"] = max(1, n // 1000)
        c["subnets"] = c["vpcs"] * SUBNETS_PER_VPC
        c["groups"] = c["vpcs"] * GROUPS_PER_VPC
        c["ecs_clusters"] = max(1, c["ecs_services"] // SERVICES_PER_CLUSTER)
        c["instances"] = max(1, n - sum(c.values()))
        self.counts = c

    def __getattr__(self, key):
        try:
            return self.__dict__["counts"][key]
        except KeyError:
            raise AttributeError(key) from None


# --- the items -------------------------------------------------------------------

class Items:
    """item(kind, i, region) -> one resource in the AWS CLI's shape."""

    def __init__(self, account):
        self.a = account
        self.t = Templates()

    # ec2 / vpc
    def vpc_id(self, i):
        return "vpc-" + hexid("vpc", i)

    def subnet_id(self, i):
        return "subnet-" + hexid("subnet", i)

    def group_id(self, i):
        return "sg-" + hexid("sg", i)

    def instance_id(self, i):
        return "i-" + hexid("i", i)

    def instance_subnet(self, i):
        return i % self.a.subnets

    def instance(self, i, region):
        s = self.instance_subnet(i)
        vpc = s // SUBNETS_PER_VPC
        ip = "10.%d.%d.%d" % (vpc % 256, s % SUBNETS_PER_VPC, 4 + i % 250)
        return _copy(self.t.instance, InstanceId=self.instance_id(i), SubnetId=self.subnet_id(s),
                     VpcId=self.vpc_id(vpc), PrivateIpAddress=ip,
                     PrivateDnsName="ip-%s.%s.compute.internal" % (ip.replace(".", "-"), region),
                     Placement={"AvailabilityZone": region + "abc"[s % 3], "GroupName": "",
                                "Tenancy": "default"},
                     SecurityGroups=[{"GroupId": self.group_id(vpc * GROUPS_PER_VPC + i % GROUPS_PER_VPC),
                                      "GroupName": name("sg", vpc * GROUPS_PER_VPC + i % GROUPS_PER_VPC)}],
                     NetworkInterfaces=[], Tags=tags("i", i, name("instance", i)))

    def reservation(self, i, region):
        return {"ReservationId": "r-" + hexid("r", i), "OwnerId": OWNER, "Groups": [],
                "Instances": [self.instance(i, region)]}

    def group(self, i, region):
        vpc = i // GROUPS_PER_VPC
        return _copy(self.t.group, GroupId=self.group_id(i), GroupName=name("sg", i), VpcId=self.vpc_id(vpc),
                     SecurityGroupArn=arn(region, "ec2", "security-group/" + self.group_id(i)),
                     Tags=tags("sg", i, name("sg", i)))

    def vpc(self, i, region):
        return _copy(self.t.vpc, VpcId=self.vpc_id(i), CidrBlock="10.%d.0.0/16" % (i % 256),
                     Tags=tags("vpc", i, name("vpc", i)))

    def subnet(self, i, region):
        return _copy(self.t.subnet, SubnetId=self.subnet_id(i), VpcId=self.vpc_id(i // SUBNETS_PER_VPC),
                     SubnetArn=arn(region, "ec2", "subnet/" + self.subnet_id(i)),
                     AvailabilityZone=region + "abc"[i % 3],
                     CidrBlock="10.%d.%d.0/24" % (i // SUBNETS_PER_VPC % 256, i % SUBNETS_PER_VPC),
                     Tags=tags("subnet", i, name("subnet", i)))

    def vpn_gateway(self, i, region):
        return _copy(self.t.vgw, VpnGatewayId="vgw-" + hexid("vgw", i),
                     VpcAttachments=[{"State": "attached", "VpcId": self.vpc_id(i % self.a.vpcs)}],
                     Tags=tags("vgw", i, name("vgw", i)))

    # messaging, serverless, storage
    def queue_url(self, i, region):
        return "https://sqs.%s.amazonaws.com/%s/%s" % (region, OWNER, name("q", i))

    def queue_arn(self, i, region):
        return arn(region, "sqs", name("q", i))

    def queue(self, i, region):
        attrs = dict(self.t.queue, QueueArn=self.queue_arn(i, region))
        if i % 2 == 0 and i + 1 < self.a.queues:
            attrs["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": self.queue_arn(i + 1, region),
                                                 "maxReceiveCount": 5})
        else:
            attrs.pop("RedrivePolicy", None)
        return attrs

    def topic_arn(self, i, region):
        return arn(region, "sns", name("t", i))

    def topic(self, i, region):
        a = self.topic_arn(i, region)
        return dict(self.t.topic, TopicArn=a, DisplayName=name("t", i),
                    Policy=self.t.topic["Policy"].replace(self.t.topic["TopicArn"], a))

    def subscriptions(self, i, region):
        t = self.topic_arn(i, region)
        return [{"SubscriptionArn": "%s:%s" % (t, hexid("sub", 2 * i, 32)), "Owner": OWNER, "Protocol": "sqs",
                 "Endpoint": self.queue_arn(i % self.a.queues, region), "TopicArn": t},
                {"SubscriptionArn": "%s:%s" % (t, hexid("sub", 2 * i + 1, 32)), "Owner": OWNER,
                 "Protocol": "lambda", "Endpoint": self.function_arn(i % self.a.functions, region),
                 "TopicArn": t}]

    def function_arn(self, i, region):
        return arn(region, "lambda", "function:" + name("fn", i))

    def function(self, i, region):
        vpc = i % self.a.vpcs
        f = _copy(self.t.function, FunctionName=name("fn", i), FunctionArn=self.function_arn(i, region),
                  Role="arn:aws:iam::%s:role/%s" % (OWNER, name("role", i)))
        f["VpcConfig"] = dict(f["VpcConfig"], VpcId=self.vpc_id(vpc),
                              SubnetIds=[self.subnet_id(vpc * SUBNETS_PER_VPC + k) for k in (0, 1)],
                              SecurityGroupIds=[self.group_id(vpc * GROUPS_PER_VPC)])
        return f

    def aliases(self, i, region):
        return [_copy(self.t.alias, AliasArn=self.function_arn(i, region) + ":live")]

    def esm(self, i, region):
        """Queue i triggers function i (one mapping per function, while there are queues)."""
        return _copy(self.t.esm, UUID="%s-0000-4000-8000-%012x" % (hexid("esm", i, 8), i),
                     EventSourceArn=self.queue_arn(i, region), FunctionArn=self.function_arn(i, region))

    def table_arn(self, i, region):
        return arn(region, "dynamodb", "table/" + name("tbl", i))

    def table(self, i, region):
        t = _copy(self.t.table, TableName=name("tbl", i), TableArn=self.table_arn(i, region),
                  TableId="%s-0000-4000-8000-%012x" % (hexid("tbl", i, 8), i))
        if "LatestStreamArn" in t:
            t["LatestStreamArn"] = self.table_arn(i, region) + "/stream/2024-01-01T00:00:00.000"
            t["LatestStreamLabel"] = "2024-01-01T00:00:00.000"
        return t

    def stream_arn(self, i, region):
        return arn(region, "kinesis", "stream/" + name("ks", i))

    def stream(self, i, region):
        return _copy(self.t.stream, StreamName=name("ks", i), StreamARN=self.stream_arn(i, region))

    def firehose(self, i, region):
        text = json.dumps(self.t.firehose)
        text = text.replace(self.t.firehose["DeliveryStreamName"], name("fh", i))
        d = json.loads(text)
        d["DeliveryStreamARN"] = arn(region, "firehose", "deliverystream/" + name("fh", i))
        src = d.get("Source", {}).get("KinesisStreamSourceDescription")
        if src:
            src["KinesisStreamARN"] = self.stream_arn(i % self.a.streams, region)
        for dest in d.get("Destinations", []):
            for k in ("S3DestinationDescription", "ExtendedS3DestinationDescription"):
                if k in dest:
                    dest[k]["BucketARN"] = "arn:aws:s3:::" + name("bkt", i % self.a.buckets)
        return d

    def bucket(self, i, region):
        return {"Name": name("bkt", i), "CreationDate": "2023-04-10T10:20:00+00:00", "BucketRegion": region}

    def notification(self, i, region):
        n = copy.deepcopy(self.t.notification)
        for c in n.get("LambdaFunctionConfigurations", []):
            c["LambdaFunctionArn"] = self.function_arn(i % self.a.functions, region)
        return n

    # databases
    def db(self, i, region):
        cluster = i // 2 if i // 2 < self.a.db_clusters else None
        vpc = i % self.a.vpcs
        d = copy.deepcopy(self.t.db)
        d.update(DBInstanceIdentifier=name("db", i), DBInstanceArn=arn(region, "rds", "db:" + name("db", i)),
                 VpcSecurityGroups=[{"VpcSecurityGroupId": self.group_id(vpc * GROUPS_PER_VPC + 2),
                                     "Status": "active"}])
        d["Endpoint"] = dict(d["Endpoint"], Address="%s.abc.%s.rds.amazonaws.com" % (name("db", i), region))
        d["DBSubnetGroup"] = dict(d["DBSubnetGroup"], DBSubnetGroupName=name("dbsg", vpc), VpcId=self.vpc_id(vpc))
        if cluster is None:
            d.pop("DBClusterIdentifier", None)
        else:
            d["DBClusterIdentifier"] = name("dbc", cluster)
        return d

    def db_cluster(self, i, region):
        c = _copy(self.t.db_cluster, DBClusterIdentifier=name("dbc", i),
                  DBClusterArn=arn(region, "rds", "cluster:" + name("dbc", i)),
                  DBSubnetGroup=name("dbcsg", i % self.a.vpcs),
                  Endpoint="%s.cluster-abc.%s.rds.amazonaws.com" % (name("dbc", i), region),
                  ReaderEndpoint="%s.cluster-ro-abc.%s.rds.amazonaws.com" % (name("dbc", i), region))
        c["DBClusterMembers"] = [dict(m, DBInstanceIdentifier=name("db", 2 * i + k))
                                 for k, m in enumerate(c["DBClusterMembers"][:2])]
        return c

    def redshift(self, i, region):
        vpc = i % self.a.vpcs
        c = _copy(self.t.redshift, ClusterIdentifier=name("rs", i), VpcId=self.vpc_id(vpc))
        c["Endpoint"] = dict(c["Endpoint"], Address="%s.abc.%s.redshift.amazonaws.com" % (name("rs", i), region))
        return c

    # load balancing, scaling, containers
    def elb(self, i, region):
        vpc = i % self.a.vpcs
        dns = "%s-1.%s.elb.amazonaws.com" % (name("elb", i), region)
        return _copy(self.t.elb, LoadBalancerName=name("elb", i), DNSName=dns, CanonicalHostedZoneName=dns,
                     VPCId=self.vpc_id(vpc), Subnets=[self.subnet_id(vpc * SUBNETS_PER_VPC)],
                     SecurityGroups=[self.group_id(vpc * GROUPS_PER_VPC)],
                     Instances=[{"InstanceId": self.instance_id((i * 3 + k) % self.a.instances)} for k in range(2)])

    def alb_arn(self, i, region):
        return arn(region, "elasticloadbalancing", "loadbalancer/app/%s/%s" % (name("alb", i), hexid("alb", i, 16)))

    def alb(self, i, region):
        vpc = i % self.a.vpcs
        return _copy(self.t.alb, LoadBalancerArn=self.alb_arn(i, region), LoadBalancerName=name("alb", i),
                     DNSName="%s-1.%s.elb.amazonaws.com" % (name("alb", i), region), VpcId=self.vpc_id(vpc),
                     AvailabilityZones=[{"ZoneName": region + "a", "SubnetId": self.subnet_id(vpc * SUBNETS_PER_VPC),
                                         "LoadBalancerAddresses": []}],
                     SecurityGroups=[self.group_id(vpc * GROUPS_PER_VPC)])

    def tg_arn(self, i, region):
        return arn(region, "elasticloadbalancing", "targetgroup/%s/%s" % (name("tg", i), hexid("tg", i, 16)))

    def tg(self, i, region):
        return _copy(self.t.tg, TargetGroupArn=self.tg_arn(i, region), TargetGroupName=name("tg", i),
                     VpcId=self.vpc_id(i % self.a.vpcs), LoadBalancerArns=[self.alb_arn(i // 2 % self.a.albs, region)])

    def tg_instances(self, i):
        return [(i * 2 + k) % self.a.instances for k in range(2)]

    def target_health(self, i, region):
        return [{"Target": {"Id": self.instance_id(k), "Port": 8080}, "HealthCheckPort": "8080",
                 "TargetHealth": {"State": "healthy"}} for k in self.tg_instances(i)]

    def asg(self, i, region):
        text = json.dumps(self.t.asg).replace(self.t.asg["AutoScalingGroupName"], name("asg", i))
        g = json.loads(text)
        members = [(self.a.instances - 1 - i * 2 - k) % self.a.instances for k in range(2)]
        g["Instances"] = [dict(g["Instances"][0], InstanceId=self.instance_id(m)) for m in members]
        g["TargetGroupARNs"] = [self.tg_arn(i % self.a.target_groups, region)]
        g["VPCZoneIdentifier"] = self.subnet_id(i % self.a.subnets)
        return g

    def ecs_cluster_arn(self, c, region):
        return arn(region, "ecs", "cluster/" + name("ecsc", c))

    def ecs_cluster_of(self, service):
        return service % self.a.ecs_clusters

    def ecs_services_of(self, c):
        return [s for s in range(c, self.a.ecs_services, self.a.ecs_clusters)]

    def ecs_service_arn(self, s, region):
        return arn(region, "ecs", "service/%s/%s" % (name("ecsc", self.ecs_cluster_of(s)), name("svc", s)))

    def ecs_task_arn(self, t, region):
        c = self.ecs_cluster_of(t % self.a.ecs_services)
        return arn(region, "ecs", "task/%s/%s-%s" % (name("ecsc", c), name("task", t), hexid("task", t, 12)))

    def ecs_host_arn(self, h, region):
        return arn(region, "ecs", "container-instance/%s/%s-%s" % (name("ecsc", h % self.a.ecs_clusters),
                                                                    name("host", h), hexid("host", h, 12)))

    def ecs_cluster(self, c, region):
        return _copy(self.t.ecs_cluster, clusterArn=self.ecs_cluster_arn(c, region), clusterName=name("ecsc", c))

    def ecs_service(self, s, region):
        c = self.ecs_cluster_of(s)
        svc = _copy(self.t.ecs_service, serviceArn=self.ecs_service_arn(s, region), serviceName=name("svc", s),
                    clusterArn=self.ecs_cluster_arn(c, region))
        svc["loadBalancers"] = [dict(svc["loadBalancers"][0], targetGroupArn=self.tg_arn(s % self.a.target_groups,
                                                                                            region))]
        return svc

    def ecs_tasks_of(self, c):
        return [t for t in range(self.a.ecs_tasks) if self.ecs_cluster_of(t % self.a.ecs_services) == c]

    def ecs_hosts_of(self, c):
        return list(range(c, self.a.ecs_hosts, self.a.ecs_clusters))

    def ecs_task(self, t, region):
        s = t % self.a.ecs_services
        c = self.ecs_cluster_of(s)
        hosts = self.ecs_hosts_of(c) or [0]
        task = _copy(self.t.ecs_task, taskArn=self.ecs_task_arn(t, region), clusterArn=self.ecs_cluster_arn(c, region),
                     containerInstanceArn=self.ecs_host_arn(hosts[t % len(hosts)], region), group="service:" + name("svc", s))
        task["containers"] = [dict(task["containers"][0], taskArn=task["taskArn"], name=name("svc", s))]
        return task

    def ecs_host(self, h, region):
        return _copy(self.t.ecs_host, containerInstanceArn=self.ecs_host_arn(h, region),
                     ec2InstanceId=self.instance_id((self.a.instances // 2 + h) % self.a.instances))

    # stacks, DNS, APIs
    def stack_id(self, i, region):
        return arn(region, "cloudformation", "stack/%s/%s-0000-4000-8000-%012x" % (name("stack", i), hexid("st", i, 8), i))

    def stack(self, i, region):
        return _copy(self.t.stack, StackId=self.stack_id(i, region), StackName=name("stack", i),
                     Tags=tags("stack", i))

    def stack_resources(self, i, region):
        a = self.a
        refs = [("AWS::SQS::Queue", self.queue_url(i % a.queues, region)),
                ("AWS::SNS::Topic", self.topic_arn(i % a.topics, region)),
                ("AWS::Lambda::Function", name("fn", i % a.functions)),
                ("AWS::DynamoDB::Table", name("tbl", i % a.tables)),
                ("AWS::S3::Bucket", name("bkt", i % a.buckets)),
                ("AWS::EC2::Instance", self.instance_id(i % a.instances)),
                ("AWS::AutoScaling::AutoScalingGroup", name("asg", i % a.asgs)),
                ("AWS::IAM::Role", name("role", i))]
        return [_copy(self.t.stack_resource, LogicalResourceId="R%d" % k, PhysicalResourceId=pid, ResourceType=rtype)
                for k, (rtype, pid) in enumerate(refs)]

    def zone_id(self, i):
        return "Z" + hexid("zone", i, 20).upper()

    def zone(self, i, region):
        c = copy.deepcopy(self.t.zone)
        c.update(Id="/hostedzone/" + self.zone_id(i), Name="%s.example.com." % name("zone", i),
                 ResourceRecordSetCount=RECORDS_PER_ZONE)
        return c

    def records(self, i, region):
        zone = "%s.example.com." % name("zone", i)
        out = [{"Name": zone, "Type": "NS", "TTL": 172800, "ResourceRecords": [{"Value": "ns-1.awsdns-1.com."}]},
               {"Name": zone, "Type": "SOA", "TTL": 900,
                "ResourceRecords": [{"Value": "ns-1.awsdns-1.com. hostmaster.amazon.com. 1 7200 900 1209600 86400"}]}]
        for k in range(RECORDS_PER_ZONE - 2):
            rec = "r%d.%s" % (k, zone)
            if k % 3 == 0:
                alb = (i * 3 + k) % self.a.albs
                out.append({"Name": rec, "Type": "A", "AliasTarget": {
                    "HostedZoneId": "Z32O12XQLNTSW2", "DNSName": "%s-1.%s.elb.amazonaws.com." % (name("alb", alb), region),
                    "EvaluateTargetHealth": True}})
            elif k % 3 == 1:
                elb = (i * 3 + k) % self.a.elbs
                out.append({"Name": rec, "Type": "CNAME", "TTL": 300,
                            "ResourceRecords": [{"Value": "%s-1.%s.elb.amazonaws.com" % (name("elb", elb), region)}]})
            else:
                out.append({"Name": rec, "Type": "A", "TTL": 300, "ResourceRecords": [{"Value": "192.0.2.%d" % (k + 1)}]})
        return out

    def api_id(self, i):
        return "a%09d" % i

    def api(self, i, region):
        return _copy(self.t.api, id=self.api_id(i), name=name("api", i), rootResourceId="r%09d" % (i * 10),
                     tags={"team": "team-%d" % (i % 7), "env": "prod"})

    def api_resources(self, i, region):
        root = {"id": "r%09d" % (i * 10), "path": "/"}
        out = [root]
        for k in range(1, RESOURCES_PER_API):
            res = copy.deepcopy(self.t.resources)
            res.update(id="r%09d" % (i * 10 + k), parentId=root["id"], pathPart="p%d" % k, path="/p%d" % k)
            out.append(res)
        return out


# --- operations --------------------------------------------------------------------

def plist(params, key):
    """A list parameter, from a JSON body (a list) or a query string (key.N / key.member.N)."""
    if isinstance(params.get(key), list):
        return params[key]
    found = []
    for k, v in params.items():
        if k.startswith(key + "."):
            found.append((int(k.rsplit(".", 1)[1]), v))
    return [v for _, v in sorted(found)]


# (service, operation) -> (items key, count attribute, item method, input token, output token, limit key, page)
LISTS = {
    ("ec2", "DescribeInstances"): ("Reservations", "instances", "reservation", "NextToken", "NextToken", "MaxResults", 1000),
    ("ec2", "DescribeSecurityGroups"): ("SecurityGroups", "groups", "group", "NextToken", "NextToken", "MaxResults", 1000),
    ("ec2", "DescribeVpcs"): ("Vpcs", "vpcs", "vpc", "NextToken", "NextToken", "MaxResults", 1000),
    ("ec2", "DescribeSubnets"): ("Subnets", "subnets", "subnet", "NextToken", "NextToken", "MaxResults", 1000),
    ("ec2", "DescribeVpnGateways"): ("VpnGateways", "vpn_gateways", "vpn_gateway", None, None, None, 100000),
    ("sqs", "ListQueues"): ("QueueUrls", "queues", "queue_url", "NextToken", "NextToken", "MaxResults", 1000),
    ("sns", "ListTopics"): ("Topics", "topics", None, "NextToken", "NextToken", None, 100),
    ("lambda", "ListFunctions"): ("Functions", "functions", "function", "Marker", "NextMarker", "MaxItems", 50),
    ("lambda", "ListEventSourceMappings"): ("EventSourceMappings", "esms", "esm", "Marker", "NextMarker",
                                            "MaxItems", 100),
    ("dynamodb", "ListTables"): ("TableNames", "tables", None, "ExclusiveStartTableName", "LastEvaluatedTableName",
                                 "Limit", 100),
    ("kinesis", "ListStreams"): ("StreamNames", "streams", None, "NextToken", "NextToken", "Limit", 100),
    ("firehose", "ListDeliveryStreams"): ("DeliveryStreamNames", "firehoses", None,
                                          "ExclusiveStartDeliveryStreamName", None, "Limit", 10),
    ("s3", "ListBuckets"): ("Buckets", "buckets", "bucket", "ContinuationToken", "ContinuationToken", "MaxBuckets",
                            10000),
    ("rds", "DescribeDBInstances"): ("DBInstances", "db_instances", "db", "Marker", "Marker", "MaxRecords", 100),
    ("rds", "DescribeDBClusters"): ("DBClusters", "db_clusters", "db_cluster", "Marker", "Marker", "MaxRecords", 100),
    ("redshift", "DescribeClusters"): ("Clusters", "redshift", "redshift", "Marker", "Marker", "MaxRecords", 100),
    ("elb", "DescribeLoadBalancers"): ("LoadBalancerDescriptions", "elbs", "elb", "Marker", "NextMarker", "PageSize",
                                       400),
    ("elbv2", "DescribeLoadBalancers"): ("LoadBalancers", "albs", "alb", "Marker", "NextMarker", "PageSize", 400),
    ("elbv2", "DescribeTargetGroups"): ("TargetGroups", "target_groups", "tg", "Marker", "NextMarker", "PageSize", 400),
    ("autoscaling", "DescribeAutoScalingGroups"): ("AutoScalingGroups", "asgs", "asg", "NextToken", "NextToken",
                                                   "MaxRecords", 50),
    ("ecs", "ListClusters"): ("clusterArns", "ecs_clusters", "ecs_cluster_arn", "nextToken", "nextToken",
                              "maxResults", 100),
    ("cloudformation", "DescribeStacks"): ("Stacks", "stacks", "stack", "NextToken", "NextToken", None, 100),
    ("route53", "ListHostedZones"): ("HostedZones", "zones", "zone", "Marker", "NextMarker", "MaxItems", 100),
    ("apigateway", "GetRestApis"): ("items", "apis", "api", "position", "position", "limit", 25),
}

TAGGED = {   # GetResources' ResourceTypeFilters -> (count attribute, ARN of item i)
    "sqs": ("queues", "queue_arn"), "sns": ("topics", "topic_arn"),
    "lambda:function": ("functions", "function_arn"), "dynamodb:table": ("tables", "table_arn"),
    "kinesis:stream": ("streams", "stream_arn"),
    "firehose:deliverystream": ("firehoses", None),
}

ECS_SUBLISTS = {   # ListX(cluster) -> (items key, ids of the cluster, ARN of one)
    "ListServices": ("serviceArns", "ecs_services_of", "ecs_service_arn"),
    "ListTasks": ("taskArns", "ecs_tasks_of", "ecs_task_arn"),
    "ListContainerInstances": ("containerInstanceArns", "ecs_hosts_of", "ecs_host_arn"),
}

ECS_DESCRIBES = {  # DescribeX -> (request list, result key, item method)
    "DescribeClusters": ("clusters", "clusters", "ecs_cluster"),
    "DescribeServices": ("services", "services", "ecs_service"),
    "DescribeTasks": ("tasks", "tasks", "ecs_task"),
    "DescribeContainerInstances": ("containerInstances", "containerInstances", "ecs_host"),
}


def _int(value, default):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


class SyntheticAccount:
    """Answers the bundled mappings' calls for an account of about n resources."""

    def __init__(self, n, models):
        self.account = Account(n)
        self.account.counts["esms"] = min(self.account.functions, self.account.queues)
        self.items = Items(self.account)
        self.models = models
        self._wire = {}

    def handles(self, service, operation):
        if (service, operation) == ("s3", "GetBucketNotification"):
            return True
        return (service, operation) in LISTS or hasattr(self, "op_%s_%s" % (service, operation))

    def _model(self, service):
        if service not in self._wire:
            for path in self.models._find_files(service):
                with open(path, encoding="utf-8") as f:
                    self._wire[service] = wire.Model(json.load(f))
                break
        return self._wire[service]

    def respond(self, service, protocol, operation, params, region, request_id, body=b""):
        """The body (bytes) of the answer; raises NotFound."""
        if protocol.startswith("rest-"):
            params = self._member_names(service, operation, params)
        if protocol == "rest-xml" and body:     # the fake does not parse rest-xml bodies
            params = dict(params, ResourceIds=re.findall(r"<ResourceId>([^<]*)</ResourceId>", body.decode()))
        if (service, operation) == ("s3", "GetBucketNotification"):   # the fake routes ?notification here
            operation = "GetBucketNotificationConfiguration"
        if (service, operation) in LISTS and not self._filtered(service, operation, params):
            result = self.list_page(service, operation, params, region)
        else:
            result = getattr(self, "op_%s_%s" % (service, operation))(params, region)
        return wire.serialize(self._model(service), protocol, operation, result, request_id)

    def _member_names(self, service, operation, params):
        """Query string and path labels by member name (marker -> Marker, max-buckets -> MaxBuckets)."""
        model = self._model(service)
        ref = model.data["operations"].get(operation, {}).get("input")
        out = dict(params)
        for name, member in (model.shape(ref).get("members", {}) if ref else {}).items():
            wire_name = member.get("locationName")
            if wire_name and wire_name in params and name not in params:
                out[name] = params[wire_name]
        return out

    @staticmethod
    def _filtered(service, operation, params):
        return (service, operation) == ("autoscaling", "DescribeAutoScalingGroups") and \
            plist(params, "AutoScalingGroupNames")

    def list_page(self, service, operation, params, region):
        key, count, method, in_tok, out_tok, limit_key, page = LISTS[(service, operation)]
        total = getattr(self.account, count)
        size = max(1, _int(params.get(limit_key), page) if limit_key else page)
        token = params.get(in_tok) if in_tok else None
        if not token:
            start = 0
        elif token.startswith("synth-"):
            start = _int(token[6:], 0)
        elif token.startswith("syn-"):
            start = index_of(token) + 1
        else:
            raise NotFound("InvalidParameterValue", "invalid pagination token")
        end = min(total, start + size)
        make = getattr(self.items, method) if method else None
        if operation == "ListTopics":
            items = [{"TopicArn": self.items.topic_arn(i, region)} for i in range(start, end)]
        elif operation in ("ListTables", "ListStreams", "ListDeliveryStreams"):
            kind = {"ListTables": "tbl", "ListStreams": "ks", "ListDeliveryStreams": "fh"}[operation]
            items = [name(kind, i) for i in range(start, end)]
        else:
            items = [make(i, region) for i in range(start, end)]
        result = {key: items}
        more = end < total
        if operation == "ListTables":
            if more:
                result["LastEvaluatedTableName"] = items[-1]
            return result
        if operation == "ListStreams":
            result["HasMoreStreams"] = more
            result["StreamSummaries"] = [{"StreamName": s, "StreamARN": self.items.stream_arn(index_of(s), region),
                                          "StreamStatus": "ACTIVE",
                                          "StreamModeDetails": {"StreamMode": "PROVISIONED"},
                                          "StreamCreationTimestamp": "2023-06-14T11:20:00+00:00"} for s in items]
            if more:
                result["NextToken"] = "synth-%d" % end
            return result
        if operation == "ListDeliveryStreams":
            result["HasMoreDeliveryStreams"] = more
            return result
        if operation == "ListHostedZones":
            result.update(IsTruncated=more, MaxItems=str(size))
            if token:
                result["Marker"] = token
        if operation == "ListBuckets":
            result["Owner"] = {"DisplayName": "synthetic", "ID": hexid("owner", 0, 64)}
        if more and out_tok:
            result[out_tok] = "synth-%d" % end
        return result

    # --- per-resource and filtered calls (op_<service>_<Operation>(params, region))

    def _one(self, kind, count, text):
        i = index_of(text)
        if not text or i >= getattr(self.account, count) or ("syn-%s-" % kind) not in text:
            raise NotFound("ResourceNotFoundException", "%s not found" % text)
        return i

    def op_sqs_GetQueueAttributes(self, p, region):
        return {"Attributes": self.items.queue(self._one("q", "queues", p.get("QueueUrl")), region)}

    def op_sqs_ListQueueTags(self, p, region):
        return {"Tags": {t["Key"]: t["Value"] for t in tags("q", self._one("q", "queues", p.get("QueueUrl")))}}

    def op_sns_GetTopicAttributes(self, p, region):
        return {"Attributes": self.items.topic(self._one("t", "topics", p.get("TopicArn")), region)}

    def op_sns_ListSubscriptionsByTopic(self, p, region):
        return {"Subscriptions": self.items.subscriptions(self._one("t", "topics", p.get("TopicArn")), region)}

    def op_lambda_ListAliases(self, p, region):
        return {"Aliases": self.items.aliases(self._one("fn", "functions", p.get("FunctionName")), region)}

    def op_lambda_GetFunction(self, p, region):
        return {"Configuration": self.items.function(self._one("fn", "functions", p.get("FunctionName")), region)}

    def op_dynamodb_DescribeTable(self, p, region):
        return {"Table": self.items.table(self._one("tbl", "tables", p.get("TableName")), region)}

    def op_kinesis_DescribeStreamSummary(self, p, region):
        return {"StreamDescriptionSummary": self.items.stream(self._one("ks", "streams", p.get("StreamName")), region)}

    def op_firehose_DescribeDeliveryStream(self, p, region):
        i = self._one("fh", "firehoses", p.get("DeliveryStreamName"))
        return {"DeliveryStreamDescription": self.items.firehose(i, region)}

    def op_resourcegroupstaggingapi_GetResources(self, p, region):
        filters = plist(p, "ResourceTypeFilters")
        count, arn_method = TAGGED.get(filters[0] if filters else "", (None, None))
        total = getattr(self.account, count) if count else 0
        size = _int(p.get("ResourcesPerPage"), 100)
        token = p.get("PaginationToken") or ""
        start = _int(token[6:], 0) if token.startswith("synth-") else 0
        end = min(total, start + size)
        items = []
        for i in range(start, end):
            a = getattr(self.items, arn_method)(i, region) if arn_method else \
                arn(region, "firehose", "deliverystream/" + name("fh", i))
            items.append({"ResourceARN": a, "Tags": tags("x", i)})
        return {"ResourceTagMappingList": items, "PaginationToken": "synth-%d" % end if end < total else ""}

    def _bucket(self, p):
        i = self._one("bkt", "buckets", p.get("Bucket"))
        return i

    def op_s3_GetBucketLocation(self, p, region):
        self._bucket(p)
        return {"LocationConstraint": region}

    def op_s3_GetBucketTagging(self, p, region):
        return {"TagSet": tags("bkt", self._bucket(p))}

    def op_s3_GetBucketNotificationConfiguration(self, p, region):
        i = self._bucket(p)
        return self.items.notification(i, region) if i % 4 == 0 else {}

    def op_rds_DescribeDBSubnetGroups(self, p, region):
        group = p.get("DBSubnetGroupName") or ""
        vpc = self._one("dbcsg", "vpcs", group)
        return {"DBSubnetGroups": [{"DBSubnetGroupName": group, "DBSubnetGroupDescription": group,
                                    "VpcId": self.items.vpc_id(vpc), "SubnetGroupStatus": "Complete",
                                    "Subnets": [], "DBSubnetGroupArn": arn(region, "rds", "subgrp:" + group)}]}

    def op_elb_DescribeTags(self, p, region):
        names = plist(p, "LoadBalancerNames")
        return {"TagDescriptions": [{"LoadBalancerName": n, "Tags": tags("elb", index_of(n), n)} for n in names]}

    def op_elbv2_DescribeTags(self, p, region):
        arns = plist(p, "ResourceArns")
        return {"TagDescriptions": [{"ResourceArn": a, "Tags": tags("lb", index_of(a))} for a in arns]}

    def op_elbv2_DescribeTargetHealth(self, p, region):
        i = self._one("tg", "target_groups", p.get("TargetGroupArn"))
        return {"TargetHealthDescriptions": self.items.target_health(i, region)}

    def op_autoscaling_DescribeAutoScalingGroups(self, p, region):
        wanted = plist(p, "AutoScalingGroupNames")
        found = [self.items.asg(index_of(n), region) for n in wanted
                 if n.startswith("syn-asg-") and index_of(n) < self.account.asgs]
        return {"AutoScalingGroups": found}

    def _ecs_cluster(self, p):
        return self._one("ecsc", "ecs_clusters", p.get("cluster"))

    def _ecs_list(self, operation, p, region):
        key, ids_of, arn_of = ECS_SUBLISTS[operation]
        ids = getattr(self.items, ids_of)(self._ecs_cluster(p))
        size = _int(p.get("maxResults"), 100)
        token = p.get("nextToken") or ""
        start = _int(token[6:], 0) if token.startswith("synth-") else 0
        page = ids[start:start + size]
        result = {key: [getattr(self.items, arn_of)(i, region) for i in page]}
        if start + size < len(ids):
            result["nextToken"] = "synth-%d" % (start + size)
        return result

    def op_ecs_ListServices(self, p, region):
        return self._ecs_list("ListServices", p, region)

    def op_ecs_ListTasks(self, p, region):
        return self._ecs_list("ListTasks", p, region)

    def op_ecs_ListContainerInstances(self, p, region):
        return self._ecs_list("ListContainerInstances", p, region)

    def _ecs_describe(self, operation, p, region):
        req, key, method = ECS_DESCRIBES[operation]
        refs = plist(p, req)
        return {key: [getattr(self.items, method)(index_of(r), region) for r in refs], "failures": []}

    def op_ecs_DescribeClusters(self, p, region):
        return self._ecs_describe("DescribeClusters", p, region)

    def op_ecs_DescribeServices(self, p, region):
        return self._ecs_describe("DescribeServices", p, region)

    def op_ecs_DescribeTasks(self, p, region):
        return self._ecs_describe("DescribeTasks", p, region)

    def op_ecs_DescribeContainerInstances(self, p, region):
        return self._ecs_describe("DescribeContainerInstances", p, region)

    def op_cloudformation_ListStackResources(self, p, region):
        i = self._one("stack", "stacks", p.get("StackName"))
        return {"StackResourceSummaries": self.items.stack_resources(i, region)}

    def op_route53_ListResourceRecordSets(self, p, region):
        zid = (p.get("HostedZoneId") or p.get("Id") or "").rsplit("/", 1)[-1]
        i = self._zone(zid)
        return {"ResourceRecordSets": self.items.records(i, region), "IsTruncated": False, "MaxItems": "300"}

    def _zone(self, zid):
        for i in range(self.account.zones):   # ids are hashes: few zones, a scan is fine
            if self.items.zone_id(i) == zid:
                return i
        raise NotFound("NoSuchHostedZone", "no hosted zone %s" % zid, 404)

    def op_route53_ListTagsForResources(self, p, region):
        ids = plist(p, "ResourceIds")
        return {"ResourceTagSets": [{"ResourceType": "hostedzone", "ResourceId": z,
                                     "Tags": tags("zone", self._zone(z))} for z in ids]}

    def _api(self, p):
        api = p.get("restapi_id") or p.get("restApiId") or ""
        i = _int(api[1:], -1) if api.startswith("a") else -1
        if not 0 <= i < self.account.apis:
            raise NotFound("NotFoundException", "Invalid API identifier specified", 404)
        return i

    def op_apigateway_GetStages(self, p, region):
        self._api(p)
        return {"item": copy.deepcopy(self.items.t.stages)}

    def op_apigateway_GetResources(self, p, region):
        return {"items": self.items.api_resources(self._api(p), region)}
