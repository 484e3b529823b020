#!/usr/bin/env python3
"""gen-demo.py -- generates demo/, the recorded AWS responses of the demo account.

`awstopo scan --demo` (and `make demo`) scans "Acme shop", account 123456789012,
without AWS: for each mapping and region it replays demo/<region>/<mapping>.json,
the "responses" object of a fixture case (docs/fixtures.md): keyed by operation
(or "service:Operation"), each entry with the params the mapping sends and the
response, exactly as `aws <service> <op> --output json` prints it. A mapping
without a file in a region is not run there; global mappings (s3, route53) run in
the first region (eu-west-1) and find the buckets of both regions.

The account is described compactly below (THE ACCOUNT); the builders turn the
description into full AWS responses, so ids agree across services: the subnet an
instance runs in, the target group an ECS service uses, the queue a Lambda
function is triggered by, the load balancer DNS name a Route 53 alias names. Ids
are derived from names (hashes), so a regenerated demo is byte-for-byte the same.

Every response and every params object is checked against the service models in
models/ (member names, types, enums): what is written is what the AWS CLI could
print.

    python3 tools/gen-demo.py            (re)write demo/
    python3 tools/gen-demo.py --check    exit 1 if demo/ is not what this script makes

Standard library only.
"""

import argparse
import glob
import hashlib
import json
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ACCOUNT = "123456789012"
PARTITION = "aws"

# =============================================================== ids and helpers


def digest(*key):
    return hashlib.sha1("/".join(key).encode()).hexdigest()


def hexid(*key, n=16):
    """n hex digits derived from the key (sha1, repeated when n > 40)."""
    h = digest(*key)
    while len(h) < n:
        h += digest(h)
    return h[:n]


def ec2_id(prefix, *key):
    """EC2 style id: prefix-0 and 16 hex digits (vpc-0a1b..., i-0a1b...)."""
    return f"{prefix}-0{hexid(prefix, *key)}"


def uuid(*key):
    h = hexid("uuid", *key, n=32)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


def alnum(*key, n=10, upper=False):
    """n characters of [a-z0-9] (or [A-Z0-9]) derived from the key."""
    chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" if upper else "abcdefghijklmnopqrstuvwxyz0123456789"
    h = int(hexid("alnum", *key, n=40), 16)
    out = ""
    for _ in range(n):
        h, r = divmod(h, len(chars))
        out += chars[r]
    return out


def digits(*key, n=10):
    return str(int(hexid("digits", *key, n=16), 16))[-n:].lstrip("0") or "1"


def arn(service, region, resource, account=ACCOUNT):
    return f"arn:{PARTITION}:{service}:{region}:{account}:{resource}"


def tag_list(tags, key="Key", value="Value"):
    return [{key: k, value: v} for k, v in tags.items()]


def camel(name):
    """A CloudFormation logical id from a name: orders-dlq -> OrdersDlq."""
    return "".join(p.title() for p in name.split("-"))


def entry(response, params=None, region=None):
    e = {}
    if params is not None:
        e["params"] = params
    if region is not None:
        e["region"] = region
    e["response"] = response
    return e


TAGGING_PAGE = 100   # GetResources' ResourcesPerPage (mappings/lib/tagging.lua)


def tagging_responses(filters, tagged):
    """resourcegroupstaggingapi:GetResources, as mappings/lib/tagging.lua asks it (once per
    region and mapping): the tags of `tagged`, [(arn, tags)], in pages of TAGGING_PAGE."""
    listed = [{"ResourceARN": a, "Tags": tag_list(t)} for a, t in tagged if t]
    pages = [listed[i:i + TAGGING_PAGE] for i in range(0, len(listed), TAGGING_PAGE)] or [[]]
    base = {"ResourceTypeFilters": filters, "ResourcesPerPage": TAGGING_PAGE}
    entries = []
    for i, page in enumerate(pages):
        token = "" if i == len(pages) - 1 else hexid("tagging", *filters, str(i + 1), n=48)
        params = dict(base, PaginationToken=hexid("tagging", *filters, str(i), n=48)) if i else base
        entries.append(entry({"PaginationToken": token, "ResourceTagMappingList": page}, params))
    return {"resourcegroupstaggingapi:GetResources": entries[::-1]}   # later pages first: they match first


# =============================================================== THE ACCOUNT

# Tag sets by owning team; each resource names its team and may add tags.
TEAMS = {
    "platform": {"team": "platform", "env": "prod", "cost-center": "CC-1001"},
    "storefront": {"team": "storefront", "env": "prod", "cost-center": "CC-2040"},
    "orders": {"team": "orders", "env": "prod", "cost-center": "CC-2050"},
    "data": {"team": "data", "env": "prod", "cost-center": "CC-3010"},
    "backoffice": {"team": "backoffice", "env": "prod", "cost-center": "CC-2990"},
}

# eu-west-1: the shop itself.
EU = {
    "region": "eu-west-1",
    "vpc": {"name": "acme-prod", "cidr": "10.10.0.0/16", "team": "platform"},
    # name, CIDR, zone letter, public
    "subnets": [
        ("public-a", "10.10.0.0/24", "a", True),
        ("public-b", "10.10.1.0/24", "b", True),
        ("private-a", "10.10.10.0/24", "a", False),
        ("private-b", "10.10.11.0/24", "b", False),
        ("data-a", "10.10.20.0/24", "a", False),
        ("data-b", "10.10.21.0/24", "b", False),
    ],
    # name: (description, team, ingress rules (protocol, from, to, CIDR or group name))
    "security_groups": {
        "shop-alb": ("Public HTTP(S) to the shop load balancer", "storefront",
                     [("tcp", 443, 443, "0.0.0.0/0"), ("tcp", 80, 80, "0.0.0.0/0")]),
        "shop-web": ("Shop web servers, from the load balancer", "storefront",
                     [("tcp", 8080, 8080, "shop-alb")]),
        "ecs-hosts": ("ECS container hosts, dynamic ports from the load balancer", "orders",
                      [("tcp", 32768, 65535, "shop-alb")]),
        "legacy-elb": ("Backoffice load balancer, office network only", "backoffice",
                       [("tcp", 443, 443, "192.168.0.0/16")]),
        "legacy-app": ("Backoffice application server", "backoffice",
                       [("tcp", 8080, 8080, "legacy-elb")]),
        "lambda": ("Lambda functions in the VPC", "orders", []),
        "aurora": ("Shop database, from web, ECS and Lambda", "orders",
                   [("tcp", 5432, 5432, "shop-web"), ("tcp", 5432, 5432, "ecs-hosts"),
                    ("tcp", 5432, 5432, "lambda")]),
        "legacy-db": ("Backoffice MySQL", "backoffice", [("tcp", 3306, 3306, "legacy-app")]),
        "redshift": ("Analytics warehouse, from the VPC and the office", "data",
                     [("tcp", 5439, 5439, "10.10.0.0/16"), ("tcp", 5439, 5439, "192.168.0.0/16")]),
    },
    # name, subnet, security groups, instance type, team, Auto Scaling group, extra tags
    "instances": [
        ("web-1", "private-a", ["shop-web"], "t3.medium", "storefront", "shop-web-asg", {}),
        ("web-2", "private-b", ["shop-web"], "t3.medium", "storefront", "shop-web-asg", {}),
        ("ecs-host-1", "private-a", ["ecs-hosts"], "m6i.large", "orders", "ecs-hosts-asg", {}),
        ("ecs-host-2", "private-b", ["ecs-hosts"], "m6i.large", "orders", "ecs-hosts-asg", {}),
        ("backoffice-1", "private-a", ["legacy-app"], "t3.small", "backoffice", None,
         {"stackstate-identifier": "urn:host:/backoffice-1.acme-shop.internal"}),
    ],
    "vpn_gateways": [("office-vpn", 64512, "platform")],
    # name, subnets, target groups, min, max, team
    "asgs": [
        ("shop-web-asg", ["private-a", "private-b"], ["shop-web-tg"], 2, 6, "storefront"),
        ("ecs-hosts-asg", ["private-a", "private-b"], [], 2, 4, "orders"),
    ],
    # name, subnets, security groups, team, extra tags
    "albs": [("shop-alb", ["public-a", "public-b"], ["shop-alb"], "storefront",
              {"stackstate-identifier": "urn:service:/shop-frontend"})],
    # name, load balancer, port, health check path, targets (instance, port), team
    "target_groups": [
        ("shop-web-tg", "shop-alb", 8080, "/healthz", [("web-1", 8080), ("web-2", 8080)], "storefront"),
        ("orders-api-tg", "shop-alb", 80, "/orders/health", [("ecs-host-1", 32768), ("ecs-host-2", 32771)], "orders"),
    ],
    # name, subnets, security groups, instances, team
    "classic_elbs": [("backoffice", ["public-a", "public-b"], ["legacy-elb"], ["backoffice-1"], "backoffice")],
    "ecs": {
        "cluster": "shop-cluster", "team": "orders", "hosts": ["ecs-host-1", "ecs-host-2"],
        # name, target group, container port, tasks (host, host port), image tag
        "services": [
            ("orders-api", "orders-api-tg", 8080, [("ecs-host-1", 32768), ("ecs-host-2", 32771)], "2.14.1"),
            ("email-worker", None, None, [("ecs-host-1", None)], "1.8.0"),
        ],
    },
    "rds": {
        # cluster, engine version, subnet group, security group, members (name, zone, writer), team, extra tags
        "clusters": [("shop-aurora", "15.4", "shop-aurora-subnets", "aurora",
                      [("shop-aurora-1", "a", True), ("shop-aurora-2", "b", False)], "orders",
                      {"stackstate_identifiers": "urn:db:/shop, urn:service:/orders-db"})],
        # name, engine, version, class, subnet group, security group, zone, team
        "instances": [("backoffice-mysql", "mysql", "8.0.35", "db.t3.medium", "backoffice-db-subnets",
                       "legacy-db", "a", "backoffice")],
        "subnet_groups": {"shop-aurora-subnets": ["data-a", "data-b"],
                          "backoffice-db-subnets": ["data-a", "data-b"]},
    },
    # name, node type, nodes, subnet group, security group, team
    "redshift": [("acme-analytics", "ra3.xlplus", 2, "analytics-subnets", "redshift", "data")],
    # name, runtime, memory, timeout, in the VPC, aliases (name, version), dead-letter queue, team,
    # description, environment variable names, extra tags
    "functions": [
        ("order-api", "python3.12", 512, 10, True, [("live", "7")], None, "orders",
         "Order lookup for the shop API", ["TABLE_NAME", "DB_SECRET_ARN"], {}),
        ("order-processor", "python3.12", 1024, 60, True, [("live", "12")], None, "orders",
         "Takes orders off the queue, stores them, publishes order events", ["TABLE_NAME", "TOPIC_ARN"],
         {"StackstateIdentifier": "urn:service:/order-processor"}),
        ("order-notifier", "nodejs20.x", 256, 30, False, [], "order-notifier-dlq", "orders",
         "Sends order confirmation e-mails", ["SES_SENDER"], {}),
        ("clickstream-enricher", "python3.12", 512, 120, False, [], None, "data",
         "Enriches clickstream records with session data", ["SESSIONS_TABLE"], {}),
        ("orders-stream-indexer", "python3.12", 256, 60, True, [], None, "orders",
         "Indexes order changes from the DynamoDB stream", ["INDEX_ENDPOINT"], {}),
        ("image-resizer", "python3.12", 1536, 60, False, [], None, "storefront",
         "Makes thumbnails of uploaded product images", ["THUMBNAIL_SIZES"], {}),
    ],
    # function, (source kind, source name), qualifier of the function ARN it names
    "event_sources": [
        ("order-processor", ("sqs", "orders-queue"), "live"),
        ("clickstream-enricher", ("kinesis", "clickstream"), None),
        ("orders-stream-indexer", ("dynamodb", "orders"), None),
    ],
    # name, dead-letter queue, visibility timeout, team, subscribed to topic
    "queues": [
        ("orders-queue", "orders-dlq", 360, "orders", None),
        ("orders-dlq", None, 30, "orders", None),
        ("order-notifications", None, 30, "backoffice", "order-events"),
        ("order-notifier-dlq", None, 30, "orders", None),
    ],
    # name, display name, team, subscriptions (protocol, endpoint name or address)
    "topics": [
        ("order-events", "Acme order events", "orders",
         [("sqs", "order-notifications"), ("lambda", "order-notifier"), ("email", "orders-team@acme-shop.com")]),
        ("ops-alerts", "Acme ops alerts", "platform",
         [("https", "https://events.pagerduty.com/integration/0d6f5a7b9c1e4f2a8b3c/enqueue")]),
    ],
    # name, shards, team
    "streams": [("clickstream", 2, "data")],
    # name, source stream, bucket, prefix, team
    "firehoses": [("clickstream-archive", "clickstream", "acme-shop-clickstream-archive", "clicks/", "data")],
    # name, hash key, range key, stream, team
    "tables": [("orders", "orderId", "createdAt", True, "orders"),
               ("carts", "cartId", None, False, "storefront")],
    "api": {
        "name": "shop-api", "team": "storefront",
        "stages": [("prod", {}), ("staging", {"stackstate-environment": "Staging"})],
        # path: {verb: integration}; integrations: ("lambda", function, qualifier), ("sqs", queue),
        # ("http", url), ("mock",)
        "resources": {
            "/": {},
            "/orders": {"GET": ("http", "https://backoffice.acme-shop.com/api/orders"),
                        "POST": ("sqs", "orders-queue")},
            "/orders/{orderId}": {"GET": ("lambda", "order-api", "live")},
            "/health": {"GET": ("mock",)},
        },
    },
    "stacks": [
        ("acme-network", "Acme shop network: VPC, subnets, security groups, VPN", "CREATE_COMPLETE", "platform", [
            ("Vpc", "AWS::EC2::VPC", "vpc:acme-prod"),
            *[(f"Subnet{camel(s)}", "AWS::EC2::Subnet", f"subnet:{s}")
              for s in ["public-a", "public-b", "private-a", "private-b", "data-a", "data-b"]],
            ("InternetGateway", "AWS::EC2::InternetGateway", "igw:acme-prod"),
            ("InternetGatewayAttachment", "AWS::EC2::VPCGatewayAttachment", "raw:IGW|vpc:acme-prod"),
            ("NatGatewayA", "AWS::EC2::NatGateway", "nat:a"),
            ("PublicRouteTable", "AWS::EC2::RouteTable", "rtb:public"),
            ("PrivateRouteTable", "AWS::EC2::RouteTable", "rtb:private"),
            *[(f"{camel(g)}SecurityGroup", "AWS::EC2::SecurityGroup", f"sg:{g}")
              for g in ["shop-alb", "shop-web", "ecs-hosts", "legacy-elb", "legacy-app", "lambda", "aurora",
                        "legacy-db", "redshift"]],
            ("OfficeVpnGateway", "AWS::EC2::VPNGateway", "vgw:office-vpn"),
            ("OfficeVpnAttachment", "AWS::EC2::VPCGatewayAttachment", "raw:VGW|vpc:acme-prod"),
            ("PublicZone", "AWS::Route53::HostedZone", "zone:acme-shop.com"),
            ("InternalZone", "AWS::Route53::HostedZone", "zone:internal.acme-shop.com"),
        ]),
        ("acme-shop-app", "Acme shop application: load balancer, web and ECS hosts, API, functions, messaging",
         "UPDATE_COMPLETE", "storefront", [
            ("ShopAlb", "AWS::ElasticLoadBalancingV2::LoadBalancer", "alb:shop-alb"),
            ("ShopWebTargetGroup", "AWS::ElasticLoadBalancingV2::TargetGroup", "tg:shop-web-tg"),
            ("OrdersApiTargetGroup", "AWS::ElasticLoadBalancingV2::TargetGroup", "tg:orders-api-tg"),
            ("HttpsListener", "AWS::ElasticLoadBalancingV2::Listener", "listener:shop-alb"),
            ("WebLaunchTemplate", "AWS::EC2::LaunchTemplate", "lt:shop-web"),
            ("WebAsg", "AWS::AutoScaling::AutoScalingGroup", "asg:shop-web-asg"),
            ("EcsHostLaunchTemplate", "AWS::EC2::LaunchTemplate", "lt:ecs-hosts"),
            ("EcsHostAsg", "AWS::AutoScaling::AutoScalingGroup", "asg:ecs-hosts-asg"),
            ("ShopCluster", "AWS::ECS::Cluster", "cluster:shop-cluster"),
            ("OrdersApiTaskDefinition", "AWS::ECS::TaskDefinition", "taskdef:orders-api"),
            ("OrdersApiService", "AWS::ECS::Service", "service:orders-api"),
            ("EmailWorkerTaskDefinition", "AWS::ECS::TaskDefinition", "taskdef:email-worker"),
            ("EmailWorkerService", "AWS::ECS::Service", "service:email-worker"),
            *[(f"{camel(f)}Function", "AWS::Lambda::Function", f"function:{f}")
              for f in ["order-api", "order-processor", "order-notifier", "clickstream-enricher",
                        "orders-stream-indexer", "image-resizer"]],
            *[(f"{camel(f)}Role", "AWS::IAM::Role", f"role:{f}-role")
              for f in ["order-api", "order-processor", "order-notifier", "clickstream-enricher",
                        "orders-stream-indexer", "image-resizer"]],
            ("OrderApiLiveAlias", "AWS::Lambda::Alias", "alias:order-api:live"),
            ("OrderProcessorLiveAlias", "AWS::Lambda::Alias", "alias:order-processor:live"),
            ("OrdersQueueMapping", "AWS::Lambda::EventSourceMapping", "esm:order-processor"),
            ("ImageResizerPermission", "AWS::Lambda::Permission",
             "raw:acme-shop-app-ImageResizerPermission-1F4Q0ZK2X9"),
            *[(camel(q), "AWS::SQS::Queue", f"queue:{q}")
              for q in ["orders-queue", "orders-dlq", "order-notifications", "order-notifier-dlq"]],
            ("OrderEventsTopic", "AWS::SNS::Topic", "topic:order-events"),
            ("OrderEventsToNotifications", "AWS::SNS::Subscription", "subscription:order-events:sqs"),
            ("OrdersTable", "AWS::DynamoDB::Table", "table:orders"),
            ("CartsTable", "AWS::DynamoDB::Table", "table:carts"),
            ("ShopApi", "AWS::ApiGateway::RestApi", "api:shop-api"),
            ("ShopApiDeployment", "AWS::ApiGateway::Deployment", "deployment:prod"),
            ("ShopApiProdStage", "AWS::ApiGateway::Stage", "raw:prod"),
            ("UploadsBucket", "AWS::S3::Bucket", "bucket:acme-shop-uploads"),
            ("StaticAssetsBucket", "AWS::S3::Bucket", "bucket:acme-shop-static-assets"),
        ]),
        ("acme-data", "Acme data: Aurora, Redshift, clickstream", "UPDATE_COMPLETE", "data", [
            ("ShopAuroraSubnetGroup", "AWS::RDS::DBSubnetGroup", "raw:shop-aurora-subnets"),
            ("ShopAurora", "AWS::RDS::DBCluster", "rdscluster:shop-aurora"),
            ("ShopAurora1", "AWS::RDS::DBInstance", "rdsdb:shop-aurora-1"),
            ("ShopAurora2", "AWS::RDS::DBInstance", "rdsdb:shop-aurora-2"),
            ("AnalyticsSubnetGroup", "AWS::Redshift::ClusterSubnetGroup", "raw:analytics-subnets"),
            ("Analytics", "AWS::Redshift::Cluster", "redshift:acme-analytics"),
            ("ClickstreamStream", "AWS::Kinesis::Stream", "stream:clickstream"),
            ("ClickstreamArchive", "AWS::KinesisFirehose::DeliveryStream", "firehose:clickstream-archive"),
            ("ClickstreamArchiveBucket", "AWS::S3::Bucket", "bucket:acme-shop-clickstream-archive"),
            ("FirehoseRole", "AWS::IAM::Role", "role:acme-data-FirehoseRole"),
        ]),
    ],
}

# us-east-1: a smaller storefront for North America.
US = {
    "region": "us-east-1",
    "vpc": {"name": "acme-us", "cidr": "10.20.0.0/16", "team": "platform"},
    "subnets": [
        ("public-a", "10.20.0.0/24", "a", True),
        ("public-b", "10.20.1.0/24", "b", True),
        ("private-a", "10.20.10.0/24", "a", False),
        ("private-b", "10.20.11.0/24", "b", False),
    ],
    "security_groups": {
        "shop-us-alb": ("Public HTTPS to the US shop load balancer", "storefront",
                        [("tcp", 443, 443, "0.0.0.0/0")]),
        "shop-us-web": ("US shop web servers, from the load balancer", "storefront",
                        [("tcp", 8080, 8080, "shop-us-alb")]),
    },
    "instances": [
        ("us-web-1", "private-a", ["shop-us-web"], "t3.medium", "storefront", "shop-us-web-asg", {}),
        ("us-web-2", "private-b", ["shop-us-web"], "t3.medium", "storefront", "shop-us-web-asg", {}),
    ],
    "vpn_gateways": [],
    "asgs": [("shop-us-web-asg", ["private-a", "private-b"], ["shop-us-web-tg"], 2, 4, "storefront")],
    "albs": [("shop-us-alb", ["public-a", "public-b"], ["shop-us-alb"], "storefront", {})],
    "target_groups": [("shop-us-web-tg", "shop-us-alb", 8080, "/healthz",
                       [("us-web-1", 8080), ("us-web-2", 8080)], "storefront")],
    "classic_elbs": [],
    "ecs": None,
    "rds": None,
    "redshift": [],
    "functions": [
        ("us-order-sync", "python3.12", 256, 30, False, [], None, "orders",
         "Forwards US orders to the main shop", ["MAIN_API_URL"], {}),
        ("us-image-resizer", "python3.12", 1536, 60, False, [], None, "storefront",
         "Makes thumbnails of images uploaded to the US bucket", ["THUMBNAIL_SIZES"], {}),
    ],
    "event_sources": [("us-order-sync", ("sqs", "us-orders-queue"), None)],
    "queues": [
        ("us-orders-queue", "us-orders-dlq", 180, "orders", "us-order-events"),
        ("us-orders-dlq", None, 30, "orders", None),
    ],
    "topics": [("us-order-events", "Acme US order events", "orders", [("sqs", "us-orders-queue")])],
    "streams": [],
    "firehoses": [],
    "tables": [],
    "api": None,
    "stacks": [
        ("acme-shop-us", "Acme shop, US storefront", "UPDATE_COMPLETE", "storefront", [
            ("Vpc", "AWS::EC2::VPC", "vpc:acme-us"),
            *[(f"Subnet{camel(s)}", "AWS::EC2::Subnet", f"subnet:{s}")
              for s in ["public-a", "public-b", "private-a", "private-b"]],
            ("AlbSecurityGroup", "AWS::EC2::SecurityGroup", "sg:shop-us-alb"),
            ("WebSecurityGroup", "AWS::EC2::SecurityGroup", "sg:shop-us-web"),
            ("ShopAlb", "AWS::ElasticLoadBalancingV2::LoadBalancer", "alb:shop-us-alb"),
            ("WebTargetGroup", "AWS::ElasticLoadBalancingV2::TargetGroup", "tg:shop-us-web-tg"),
            ("WebAsg", "AWS::AutoScaling::AutoScalingGroup", "asg:shop-us-web-asg"),
            ("OrderSyncFunction", "AWS::Lambda::Function", "function:us-order-sync"),
            ("ImageResizerFunction", "AWS::Lambda::Function", "function:us-image-resizer"),
            ("OrdersQueue", "AWS::SQS::Queue", "queue:us-orders-queue"),
            ("OrdersDlq", "AWS::SQS::Queue", "queue:us-orders-dlq"),
            ("OrderEventsTopic", "AWS::SNS::Topic", "topic:us-order-events"),
            ("UploadsBucket", "AWS::S3::Bucket", "bucket:acme-shop-us-uploads"),
        ]),
    ],
}

REGIONS = [EU, US]

# Lambda environment variables (the mapping keeps only their names).
ENV_VALUES = {
    "TABLE_NAME": "orders", "SESSIONS_TABLE": "carts", "SES_SENDER": "orders@acme-shop.com",
    "DB_SECRET_ARN": f"arn:{PARTITION}:secretsmanager:eu-west-1:{ACCOUNT}:secret:shop-aurora-app-Xy7Pq2",
    "TOPIC_ARN": f"arn:{PARTITION}:sns:eu-west-1:{ACCOUNT}:order-events",
    "INDEX_ENDPOINT": "https://search.internal.acme-shop.com", "THUMBNAIL_SIZES": "128,512,1024",
    "MAIN_API_URL": "https://api.acme-shop.com/orders",
}

# S3 (global): name, region, team (None: no tag set), extra tags, Lambda notification
# (function, events, prefix)
BUCKETS = [
    ("acme-shop-uploads", "eu-west-1", "storefront", {}, ("image-resizer", ["s3:ObjectCreated:*"], "products/")),
    ("acme-shop-static-assets", "eu-west-1", "storefront", {}, None),
    ("acme-shop-clickstream-archive", "eu-west-1", "data", {}, None),
    ("acme-shop-staging-assets", "eu-west-1", "storefront",
     {"env": "staging", "STACKSTATE-ENVIRONMENT": "Staging"}, None),
    ("acme-shop-cfn-artifacts", "eu-west-1", None, {}, None),
    ("acme-shop-us-uploads", "us-east-1", "storefront", {}, ("us-image-resizer", ["s3:ObjectCreated:Put"], "")),
    ("acme-shop-access-logs-us", "us-east-1", None, {}, None),
]

# Route 53 (global): zone, private, team, records (name, type, value) where value is
# ("alias", target) -- an ALB / classic ELB / record name / API domain -- or a list of values.
ZONES = [
    ("acme-shop.com", False, "platform", [
        ("acme-shop.com", "A", ("alias-record", "www.acme-shop.com")),
        ("acme-shop.com", "MX", ["10 inbound-smtp.eu-west-1.amazonaws.com"]),
        ("acme-shop.com", "NS", None),
        ("acme-shop.com", "SOA", None),
        ("acme-shop.com", "TXT", ['"v=spf1 include:amazonses.com ~all"']),
        ("admin.acme-shop.com", "CNAME", ("elb", "eu-west-1", "backoffice")),
        ("api.acme-shop.com", "A", ("apigw", "eu-west-1", "shop-api")),
        ("us.acme-shop.com", "A", ("alb", "us-east-1", "shop-us-alb")),
        ("www.acme-shop.com", "A", ("alb", "eu-west-1", "shop-alb")),
    ]),
    ("internal.acme-shop.com", True, "platform", [
        ("internal.acme-shop.com", "NS", None),
        ("internal.acme-shop.com", "SOA", None),
        ("analytics.internal.acme-shop.com", "CNAME", ("redshift", "eu-west-1", "acme-analytics")),
        ("backoffice-db.internal.acme-shop.com", "CNAME", ("rds", "eu-west-1", "backoffice-mysql")),
        ("db.internal.acme-shop.com", "CNAME", ("aurora", "eu-west-1", "shop-aurora")),
    ]),
]

# =============================================================== names -> ids

AZ_IDS = {"eu-west-1": "euw1-az", "us-east-1": "use1-az"}
INTERNAL_DNS = {"eu-west-1": "eu-west-1.compute.internal", "us-east-1": "ec2.internal"}
ELB_ZONE = {"eu-west-1": "Z32O12XQLNTSW2", "us-east-1": "Z35SXDOTRQ7X7K"}      # ALB / classic ELB
APIGW_ZONE = {"eu-west-1": "ZLY8HYME6SFDD", "us-east-1": "Z1UJRXOUMOOFQ8"}      # regional API domains
RDS_ZONE = {"eu-west-1": "Z29XKXDKYMONMX", "us-east-1": "Z2R2ITUGPM61AM"}
AMI = {"eu-west-1": {"web": "ami-0d64bb532e0502c46", "ecs": "ami-0b9b1a8ea8e3f9d0e"},
       "us-east-1": {"web": "ami-0c101f26f147fa7fd", "ecs": "ami-0f3c3fd1bbd3b6f0b"}}


def R(spec):
    return spec["region"]


def vpc_id(spec):
    return ec2_id("vpc", R(spec), spec["vpc"]["name"])


def subnet(spec, name):
    for s in spec["subnets"]:
        if s[0] == name:
            return s
    raise KeyError(name)


def subnet_id(spec, name):
    subnet(spec, name)
    return ec2_id("subnet", R(spec), name)


def az(spec, subnet_name):
    return R(spec) + subnet(spec, subnet_name)[2]


def sg_id(spec, name):
    if name != "default" and name not in spec["security_groups"]:
        raise KeyError(name)
    return ec2_id("sg", R(spec), name)


def instance(spec, name):
    for i in spec["instances"]:
        if i[0] == name:
            return i
    raise KeyError(name)


def instance_id(spec, name):
    instance(spec, name)
    return ec2_id("i", R(spec), name)


def private_ip(spec, name):
    """The instance's address: the n-th instance of its subnet gets .10+n*7."""
    inst = instance(spec, name)
    same = [i[0] for i in spec["instances"] if i[1] == inst[1]]
    base = subnet(spec, inst[1])[1].split("/")[0].rsplit(".", 1)[0]
    return f"{base}.{11 + 7 * same.index(name)}"


def private_dns(spec, name):
    return "ip-" + private_ip(spec, name).replace(".", "-") + "." + INTERNAL_DNS[R(spec)]


def alb_arn(spec, name):
    return arn("elasticloadbalancing", R(spec), f"loadbalancer/app/{name}/{hexid('alb', R(spec), name)}")


def alb_dns(region, name):
    return f"{name}-{digits('alb-dns', region, name)}.{region}.elb.amazonaws.com"


def elb_dns(region, name):
    return f"{name}-{digits('elb-dns', region, name)}.{region}.elb.amazonaws.com"


def tg_arn(spec, name):
    return arn("elasticloadbalancing", R(spec), f"targetgroup/{name}/{hexid('tg', R(spec), name)}")


def asg_arn(spec, name):
    return arn("autoscaling", R(spec), f"autoScalingGroup:{uuid('asg', R(spec), name)}:autoScalingGroupName/{name}")


def queue_url(region, name):
    return f"https://sqs.{region}.amazonaws.com/{ACCOUNT}/{name}"


def queue_arn(region, name):
    return arn("sqs", region, name)


def topic_arn(region, name):
    return arn("sns", region, name)


def function_arn(region, name):
    return arn("lambda", region, f"function:{name}")


def stream_arn(region, name):
    return arn("kinesis", region, f"stream/{name}")


def table_arn(region, name):
    return arn("dynamodb", region, f"table/{name}")


def table_stream_label(region, name):
    return "2024-02-12T09:41:27.318"


def table_stream_arn(region, name):
    return f"{table_arn(region, name)}/stream/{table_stream_label(region, name)}"


def firehose_arn(region, name):
    return arn("firehose", region, f"deliverystream/{name}")


def bucket_arn(name):
    return f"arn:{PARTITION}:s3:::{name}"


def ecs_arn(spec, resource):
    return arn("ecs", R(spec), resource)


def container_instance_arn(spec, host):
    cluster = spec["ecs"]["cluster"]
    return ecs_arn(spec, f"container-instance/{cluster}/{hexid('ci', R(spec), host, n=32)}")


def task_arn(spec, service, i):
    cluster = spec["ecs"]["cluster"]
    return ecs_arn(spec, f"task/{cluster}/{hexid('task', R(spec), service, str(i), n=32)}")


def taskdef_arn(spec, family):
    return ecs_arn(spec, f"task-definition/{family}:{int(hexid('revision', family, n=2), 16) % 30 + 10}")


def rds_endpoint(region, name, kind=""):
    return f"{name}.{kind}{alnum('rds', region, n=12)}.{region}.rds.amazonaws.com"


def redshift_endpoint(region, name):
    return f"{name}.{alnum('redshift', region, n=12)}.{region}.redshift.amazonaws.com"


def api_id(region, name):
    return alnum("api", region, name, n=10)


def resource_id(region, api, path):
    return alnum("resource", region, api, path, n=10 if path == "/" else 6)


def zone_id(name):
    return "Z0" + alnum("zone", name, n=19, upper=True)


def stack_id(region, name):
    return arn("cloudformation", region, f"stack/{name}/{uuid('stack', region, name)}")


def find_region(name):
    for spec in REGIONS:
        if R(spec) == name:
            return spec
    raise KeyError(name)


def tags_of(team, extra=None):
    tags = dict(TEAMS[team]) if team else {}
    tags.update(extra or {})
    return tags


def ts(day, hms="09:00:00", frac=""):
    """A timestamp as the CLI prints it: day is "2023-04-12"."""
    return f"{day}T{hms}{frac}+00:00"


# =============================================================== EC2, VPC, VPN gateway


def build_vpcs(spec):
    v = spec["vpc"]
    vid = vpc_id(spec)
    return [{
        "OwnerId": ACCOUNT,
        "InstanceTenancy": "default",
        "CidrBlockAssociationSet": [{
            "AssociationId": ec2_id("vpc-cidr-assoc", R(spec), v["name"]),
            "CidrBlock": v["cidr"],
            "CidrBlockState": {"State": "associated"},
        }],
        "IsDefault": False,
        "BlockPublicAccessStates": {"InternetGatewayBlockMode": "off"},
        "Tags": tag_list({"Name": v["name"], **tags_of(v["team"])}),
        "VpcId": vid,
        "State": "available",
        "CidrBlock": v["cidr"],
        "DhcpOptionsId": ec2_id("dopt", R(spec)),
    }]


def build_subnets(spec):
    out = []
    for name, cidr, zone, public in spec["subnets"]:
        sid = subnet_id(spec, name)
        used = sum(1 for i in spec["instances"] if i[1] == name)
        out.append({
            "AvailabilityZoneId": AZ_IDS[R(spec)] + str(ord(zone) - ord("a") + 1),
            "MapCustomerOwnedIpOnLaunch": False,
            "OwnerId": ACCOUNT,
            "AssignIpv6AddressOnCreation": False,
            "Ipv6CidrBlockAssociationSet": [],
            "Tags": tag_list({"Name": f"{spec['vpc']['name']}-{name}", "tier": name.rsplit("-", 1)[0],
                              **tags_of(spec["vpc"]["team"])}),
            "SubnetArn": arn("ec2", R(spec), f"subnet/{sid}"),
            "EnableDns64": False,
            "Ipv6Native": False,
            "PrivateDnsNameOptionsOnLaunch": {
                "HostnameType": "ip-name",
                "EnableResourceNameDnsARecord": False,
                "EnableResourceNameDnsAAAARecord": False,
            },
            "BlockPublicAccessStates": {"InternetGatewayBlockMode": "off"},
            "SubnetId": sid,
            "State": "available",
            "VpcId": vpc_id(spec),
            "CidrBlock": cidr,
            "AvailableIpAddressCount": 251 - used - (2 if public else 0),
            "AvailabilityZone": R(spec) + zone,
            "DefaultForAz": False,
            "MapPublicIpOnLaunch": public,
        })
    return out


def sg_rule(spec, proto, lo, hi, source):
    rule = {"IpProtocol": proto, "FromPort": lo, "ToPort": hi, "UserIdGroupPairs": [], "IpRanges": [],
            "Ipv6Ranges": [], "PrefixListIds": []}
    if source[0].isdigit():
        rule["IpRanges"].append({"CidrIp": source})
    else:
        rule["UserIdGroupPairs"].append({"UserId": ACCOUNT, "GroupId": sg_id(spec, source)})
    return rule


def build_security_groups(spec):
    egress = [{"IpProtocol": "-1", "UserIdGroupPairs": [], "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
               "Ipv6Ranges": [], "PrefixListIds": []}]
    groups = [("default", "default VPC security group", None, None)]
    groups += [(name, desc, team, rules) for name, (desc, team, rules) in spec["security_groups"].items()]
    out = []
    for name, desc, team, rules in groups:
        gid = sg_id(spec, name)
        g = {"GroupId": gid, "IpPermissionsEgress": egress}
        if team:
            g["Tags"] = tag_list({"Name": f"{name}-sg", **tags_of(team)})
            ingress = [sg_rule(spec, *r) for r in rules]
        else:   # the VPC's default group: members talk to each other
            ingress = [{"IpProtocol": "-1", "UserIdGroupPairs": [{"UserId": ACCOUNT, "GroupId": gid}],
                        "IpRanges": [], "Ipv6Ranges": [], "PrefixListIds": []}]
        g.update({
            "VpcId": vpc_id(spec),
            "SecurityGroupArn": arn("ec2", R(spec), f"security-group/{gid}"),
            "OwnerId": ACCOUNT,
            "GroupName": name if name == "default" else f"{spec['vpc']['name']}-{name}",
            "Description": desc,
            "IpPermissions": ingress,
        })
        out.append(g)
    return out


def build_instance(spec, inst):
    name, sub, sgs, itype, team, asg, extra = inst
    region = R(spec)
    iid = instance_id(spec, name)
    ip, dns = private_ip(spec, name), private_dns(spec, name)
    kind = "ecs" if name.startswith("ecs-") else "web"
    launched = ts("2024-04-22", "07:1%d:0%d" % (len(name) % 10, len(name) % 7))
    groups = [{"GroupName": f"{spec['vpc']['name']}-{g}", "GroupId": sg_id(spec, g)} for g in sgs]
    tags = {"Name": name, **tags_of(team, extra)}
    if asg:
        tags["aws:autoscaling:groupName"] = asg
        tags["aws:ec2launchtemplate:id"] = ec2_id("lt", region, asg)
        tags["aws:ec2launchtemplate:version"] = "4"
    profile = "ecsInstanceRole" if kind == "ecs" else "acme-web-instance"
    return {
        "AmiLaunchIndex": 0,
        "ImageId": AMI[region][kind],
        "InstanceId": iid,
        "InstanceType": itype,
        "LaunchTime": launched,
        "Monitoring": {"State": "enabled" if asg else "disabled"},
        "Placement": {"AvailabilityZone": az(spec, sub), "GroupName": "", "Tenancy": "default"},
        "PrivateDnsName": dns,
        "PrivateIpAddress": ip,
        "ProductCodes": [],
        "PublicDnsName": "",
        "State": {"Code": 16, "Name": "running"},
        "StateTransitionReason": "",
        "SubnetId": subnet_id(spec, sub),
        "VpcId": vpc_id(spec),
        "Architecture": "x86_64",
        "BlockDeviceMappings": [{
            "DeviceName": "/dev/xvda",
            "Ebs": {"AttachTime": launched, "DeleteOnTermination": True, "Status": "attached",
                    "VolumeId": ec2_id("vol", region, name)},
        }],
        "ClientToken": uuid("token", region, name) if asg else "",
        "EbsOptimized": True,
        "EnaSupport": True,
        "Hypervisor": "xen",
        "IamInstanceProfile": {"Arn": f"arn:{PARTITION}:iam::{ACCOUNT}:instance-profile/{profile}",
                               "Id": "AIPA" + alnum("profile", profile, n=17, upper=True)},
        "NetworkInterfaces": [{
            "Attachment": {"AttachTime": launched, "AttachmentId": ec2_id("eni-attach", region, name),
                           "DeleteOnTermination": True, "DeviceIndex": 0, "Status": "attached",
                           "NetworkCardIndex": 0},
            "Description": "",
            "Groups": groups,
            "Ipv6Addresses": [],
            "MacAddress": ":".join(hexid("mac", region, name, n=12)[i:i + 2] for i in range(0, 12, 2)),
            "NetworkInterfaceId": ec2_id("eni", region, name),
            "OwnerId": ACCOUNT,
            "PrivateDnsName": dns,
            "PrivateIpAddress": ip,
            "PrivateIpAddresses": [{"Primary": True, "PrivateDnsName": dns, "PrivateIpAddress": ip}],
            "SourceDestCheck": True,
            "Status": "in-use",
            "SubnetId": subnet_id(spec, sub),
            "VpcId": vpc_id(spec),
            "InterfaceType": "interface",
        }],
        "RootDeviceName": "/dev/xvda",
        "RootDeviceType": "ebs",
        "SecurityGroups": groups,
        "SourceDestCheck": True,
        "Tags": tag_list(tags),
        "VirtualizationType": "hvm",
        "CpuOptions": {"CoreCount": 1, "ThreadsPerCore": 2},
        "CapacityReservationSpecification": {"CapacityReservationPreference": "open"},
        "HibernationOptions": {"Configured": False},
        "MetadataOptions": {"State": "applied", "HttpTokens": "required", "HttpPutResponseHopLimit": 2,
                            "HttpEndpoint": "enabled", "HttpProtocolIpv6": "disabled",
                            "InstanceMetadataTags": "disabled"},
        "EnclaveOptions": {"Enabled": False},
        "BootMode": "uefi-preferred",
        "PlatformDetails": "Linux/UNIX",
        "UsageOperation": "RunInstances",
        "UsageOperationUpdateTime": launched,
        "PrivateDnsNameOptions": {"HostnameType": "ip-name", "EnableResourceNameDnsARecord": False,
                                  "EnableResourceNameDnsAAAARecord": False},
        "MaintenanceOptions": {"AutoRecovery": "default"},
        "CurrentInstanceBootMode": "uefi",
    }


def build_reservations(spec):
    return [{
        "ReservationId": ec2_id("r", R(spec), inst[0]),
        "OwnerId": ACCOUNT,
        "Groups": [],
        "Instances": [build_instance(spec, inst)],
    } for inst in spec["instances"]]


def build_vpn_gateways(spec):
    return [{
        "State": "available",
        "Type": "ipsec.1",
        "VpcAttachments": [{"State": "attached", "VpcId": vpc_id(spec)}],
        "VpnGatewayId": ec2_id("vgw", R(spec), name),
        "AmazonSideAsn": asn,
        "Tags": tag_list({"Name": name, **tags_of(team)}),
    } for name, asn, team in spec["vpn_gateways"]]


def ec2_responses(spec):
    return {
        "DescribeInstances": [entry({"Reservations": build_reservations(spec)}, {"MaxResults": 1000})],
        "DescribeSecurityGroups": [entry({"SecurityGroups": build_security_groups(spec)}, {"MaxResults": 1000})],
    }


def vpc_responses(spec):
    return {
        "DescribeVpcs": [entry({"Vpcs": build_vpcs(spec)}, {"MaxResults": 1000})],
        "DescribeSubnets": [entry({"Subnets": build_subnets(spec)}, {"MaxResults": 1000})],
    }


def vpngateway_responses(spec):
    if not spec["vpn_gateways"]:
        return None
    return {"DescribeVpnGateways": [entry({"VpnGateways": build_vpn_gateways(spec)}, {})]}


# =============================================================== load balancing, Auto Scaling


def build_albs(spec):
    out = []
    for name, subnets, sgs, team, extra in spec["albs"]:
        out.append({
            "LoadBalancerArn": alb_arn(spec, name),
            "DNSName": alb_dns(R(spec), name),
            "CanonicalHostedZoneId": ELB_ZONE[R(spec)],
            "CreatedTime": ts("2023-04-24", "14:02:11", ".940000"),
            "LoadBalancerName": name,
            "Scheme": "internet-facing",
            "VpcId": vpc_id(spec),
            "State": {"Code": "active"},
            "Type": "application",
            "AvailabilityZones": [{"ZoneName": az(spec, s), "SubnetId": subnet_id(spec, s),
                                   "LoadBalancerAddresses": []} for s in subnets],
            "SecurityGroups": [sg_id(spec, g) for g in sgs],
            "IpAddressType": "ipv4",
        })
    return out


def build_target_groups(spec):
    out = []
    for name, lb, port, path, _targets, _team in spec["target_groups"]:
        out.append({
            "TargetGroupArn": tg_arn(spec, name),
            "TargetGroupName": name,
            "Protocol": "HTTP",
            "Port": port,
            "VpcId": vpc_id(spec),
            "HealthCheckProtocol": "HTTP",
            "HealthCheckPort": "traffic-port",
            "HealthCheckEnabled": True,
            "HealthCheckIntervalSeconds": 15,
            "HealthCheckTimeoutSeconds": 5,
            "HealthyThresholdCount": 3,
            "UnhealthyThresholdCount": 2,
            "HealthCheckPath": path,
            "Matcher": {"HttpCode": "200"},
            "LoadBalancerArns": [alb_arn(spec, lb)],
            "TargetType": "instance",
            "ProtocolVersion": "HTTP1",
            "IpAddressType": "ipv4",
        })
    return out


def elbv2_responses(spec):
    if not spec["albs"]:
        return None
    lbs, tgs = build_albs(spec), build_target_groups(spec)
    arns = [lb["LoadBalancerArn"] for lb in lbs] + [tg["TargetGroupArn"] for tg in tgs]
    teams = {alb_arn(spec, a[0]): tags_of(a[3], a[4]) for a in spec["albs"]}
    teams.update({tg_arn(spec, t[0]): tags_of(t[5]) for t in spec["target_groups"]})
    tags = [{"ResourceArn": a, "Tags": tag_list(teams[a])} for a in arns]
    assert len(arns) <= 20, "DescribeTags takes 20 ARNs: split the entry"
    health = []
    for name, _lb, _port, _path, targets, _team in spec["target_groups"]:
        health.append(entry({"TargetHealthDescriptions": [{
            "Target": {"Id": instance_id(spec, inst), "Port": port},
            "HealthCheckPort": str(port),
            "TargetHealth": {"State": "healthy"},
        } for inst, port in targets]}, {"TargetGroupArn": tg_arn(spec, name)}))
    return {
        "DescribeLoadBalancers": [entry({"LoadBalancers": lbs}, {"PageSize": 400})],
        "DescribeTargetGroups": [entry({"TargetGroups": tgs}, {"PageSize": 400})],
        "DescribeTags": [entry({"TagDescriptions": tags}, {"ResourceArns": arns})],
        "DescribeTargetHealth": health,
    }


def elb_responses(spec):
    if not spec["classic_elbs"]:
        return None
    region = R(spec)
    lbs, tags = [], []
    for name, subnets, sgs, instances, team in spec["classic_elbs"]:
        dns = elb_dns(region, name)
        lbs.append({
            "LoadBalancerName": name,
            "DNSName": dns,
            "CanonicalHostedZoneName": dns,
            "CanonicalHostedZoneNameID": ELB_ZONE[region],
            "ListenerDescriptions": [{
                "Listener": {"Protocol": "HTTPS", "LoadBalancerPort": 443, "InstanceProtocol": "HTTP",
                             "InstancePort": 8080,
                             "SSLCertificateId": arn("acm", region, f"certificate/{uuid('cert', region, name)}")},
                "PolicyNames": ["ELBSecurityPolicy-TLS-1-2-2017-01"],
            }],
            "Policies": {"AppCookieStickinessPolicies": [], "LBCookieStickinessPolicies": [],
                         "OtherPolicies": ["ELBSecurityPolicy-TLS-1-2-2017-01"]},
            "BackendServerDescriptions": [],
            "AvailabilityZones": [az(spec, s) for s in subnets],
            "Subnets": [subnet_id(spec, s) for s in subnets],
            "VPCId": vpc_id(spec),
            "Instances": [{"InstanceId": instance_id(spec, i)} for i in instances],
            "HealthCheck": {"Target": "HTTP:8080/status", "Interval": 30, "Timeout": 5,
                            "UnhealthyThreshold": 2, "HealthyThreshold": 10},
            "SourceSecurityGroup": {"OwnerAlias": ACCOUNT, "GroupName": f"{spec['vpc']['name']}-{sgs[0]}"},
            "SecurityGroups": [sg_id(spec, g) for g in sgs],
            "CreatedTime": ts("2019-03-18", "10:42:05", ".870000"),
            "Scheme": "internet-facing",
        })
        tags.append({"LoadBalancerName": name, "Tags": tag_list({"Name": name, **tags_of(team)})})
    names = [lb["LoadBalancerName"] for lb in lbs]
    return {
        "DescribeLoadBalancers": [entry({"LoadBalancerDescriptions": lbs}, {"PageSize": 400})],
        "DescribeTags": [entry({"TagDescriptions": tags}, {"LoadBalancerNames": names})],
    }


def build_asg(spec, asg, with_instances=True):
    name, subnets, tgs, lo, hi, team = asg
    region = R(spec)
    lt = {"LaunchTemplateId": ec2_id("lt", region, name), "LaunchTemplateName": name.replace("-asg", ""),
          "Version": "4"}
    members = [i for i in spec["instances"] if i[5] == name]
    g = {
        "AutoScalingGroupName": name,
        "AutoScalingGroupARN": asg_arn(spec, name),
        "LaunchTemplate": lt,
        "MinSize": lo,
        "MaxSize": hi,
        "DesiredCapacity": len(members),
        "DefaultCooldown": 300,
        "AvailabilityZones": sorted({az(spec, s) for s in subnets}),
        "LoadBalancerNames": [],
        "TargetGroupARNs": [tg_arn(spec, t) for t in tgs],
        "HealthCheckType": "ELB" if tgs else "EC2",
        "HealthCheckGracePeriod": 300,
    }
    if with_instances:
        g["Instances"] = [{
            "InstanceId": instance_id(spec, i[0]),
            "InstanceType": i[3],
            "AvailabilityZone": az(spec, i[1]),
            "LifecycleState": "InService",
            "HealthStatus": "Healthy",
            "LaunchTemplate": lt,
            "ProtectedFromScaleIn": False,
        } for i in members]
    g.update({
        "CreatedTime": ts("2023-04-24", "14:05:00", ".123000"),
        "SuspendedProcesses": [],
        "VPCZoneIdentifier": ",".join(subnet_id(spec, s) for s in subnets),
        "EnabledMetrics": [],
        "Tags": [{"ResourceId": name, "ResourceType": "auto-scaling-group", "Key": k, "Value": v,
                  "PropagateAtLaunch": True} for k, v in tags_of(team).items()],
        "TerminationPolicies": ["Default"],
        "NewInstancesProtectedFromScaleIn": False,
        "ServiceLinkedRoleARN": f"arn:{PARTITION}:iam::{ACCOUNT}:role/aws-service-role/autoscaling.amazonaws.com/"
                                "AWSServiceRoleForAutoScaling",
        "CapacityRebalance": False,
        "TrafficSources": [{"Identifier": tg_arn(spec, t), "Type": "elbv2"} for t in tgs],
    })
    return g


def autoscaling_responses(spec):
    if not spec["asgs"]:
        return None
    groups = [build_asg(spec, a) for a in spec["asgs"]]
    return {"DescribeAutoScalingGroups": [entry({"AutoScalingGroups": groups}, {"MaxRecords": 100})]}


# =============================================================== ECS


def ecs_tags(team, extra=None):
    return tag_list(tags_of(team, extra), "key", "value")


def ecs_responses(spec):
    e = spec["ecs"]
    if not e:
        return None
    region, cluster = R(spec), e["cluster"]
    cluster_arn = ecs_arn(spec, f"cluster/{cluster}")
    nservices = len(e["services"])
    ntasks = sum(len(s[3]) for s in e["services"])

    cis, ci_arns = [], []
    for host in e["hosts"]:
        ci = container_instance_arn(spec, host)
        ci_arns.append(ci)
        on_host = sum(1 for s in e["services"] for p in s[3] if p[0] == host)
        itype = instance(spec, host)[3]
        cis.append({
            "containerInstanceArn": ci,
            "ec2InstanceId": instance_id(spec, host),
            "version": 41,
            "versionInfo": {"agentVersion": "1.86.3", "agentHash": "f1c4c0a4",
                            "dockerVersion": "DockerVersion: 25.0.3"},
            "remainingResources": [
                {"name": "CPU", "type": "INTEGER", "doubleValue": 0.0, "longValue": 0,
                 "integerValue": 2048 - 512 * on_host},
                {"name": "MEMORY", "type": "INTEGER", "doubleValue": 0.0, "longValue": 0,
                 "integerValue": 7680 - 1024 * on_host},
            ],
            "registeredResources": [
                {"name": "CPU", "type": "INTEGER", "doubleValue": 0.0, "longValue": 0, "integerValue": 2048},
                {"name": "MEMORY", "type": "INTEGER", "doubleValue": 0.0, "longValue": 0, "integerValue": 7680},
            ],
            "status": "ACTIVE",
            "agentConnected": True,
            "runningTasksCount": on_host,
            "pendingTasksCount": 0,
            "attributes": [
                {"name": "ecs.instance-type", "value": itype},
                {"name": "ecs.availability-zone", "value": az(spec, instance(spec, host)[1])},
                {"name": "ecs.os-type", "value": "linux"},
                {"name": "ecs.ami-id", "value": AMI[region]["ecs"]},
            ],
            "registeredAt": ts("2024-04-22", "07:14:31", ".774000"),
            "attachments": [],
            "tags": [],
        })

    services, tasks, service_arns, task_arns = [], [], [], []
    for name, tg, port, placements, version in e["services"]:
        sarn = ecs_arn(spec, f"service/{cluster}/{name}")
        service_arns.append(sarn)
        tdef = taskdef_arn(spec, name)
        deployment = f"ecs-svc/{digits('deployment', region, name, n=19)}"
        svc = {
            "serviceArn": sarn,
            "serviceName": name,
            "clusterArn": cluster_arn,
            "loadBalancers": [{"targetGroupArn": tg_arn(spec, tg), "containerName": name, "containerPort": port}]
            if tg else [],
            "serviceRegistries": [],
            "status": "ACTIVE",
            "desiredCount": len(placements),
            "runningCount": len(placements),
            "pendingCount": 0,
            "launchType": "EC2",
            "taskDefinition": tdef,
            "deploymentConfiguration": {"deploymentCircuitBreaker": {"enable": True, "rollback": True},
                                        "maximumPercent": 200, "minimumHealthyPercent": 50},
            "deployments": [{
                "id": deployment, "status": "PRIMARY", "taskDefinition": tdef,
                "desiredCount": len(placements), "pendingCount": 0, "runningCount": len(placements),
                "failedTasks": 0, "createdAt": ts("2024-05-06", "12:31:09", ".417000"),
                "updatedAt": ts("2024-05-06", "12:35:48", ".902000"), "launchType": "EC2",
                "rolloutState": "COMPLETED", "rolloutStateReason": f"ECS deployment {deployment} completed.",
            }],
            "events": [{"id": uuid("event", region, name), "createdAt": ts("2024-05-06", "12:35:48", ".902000"),
                        "message": f"(service {name}) has reached a steady state."}],
            "createdAt": ts("2023-04-24", "14:20:44", ".005000"),
            "placementConstraints": [],
            "placementStrategy": [{"type": "spread", "field": "attribute:ecs.availability-zone"}],
            "schedulingStrategy": "REPLICA",
            "deploymentController": {"type": "ECS"},
            "tags": ecs_tags(e["team"], {"service": name}),
            "createdBy": f"arn:{PARTITION}:iam::{ACCOUNT}:role/acme-deployer",
            "enableECSManagedTags": True,
            "propagateTags": "SERVICE",
            "enableExecuteCommand": False,
        }
        if tg:
            svc["roleArn"] = (f"arn:{PARTITION}:iam::{ACCOUNT}:role/aws-service-role/ecs.amazonaws.com/"
                              "AWSServiceRoleForECS")
            svc["healthCheckGracePeriodSeconds"] = 60
        services.append(svc)
        for i, (host, host_port) in enumerate(placements):
            tarn = task_arn(spec, name, i)
            task_arns.append(tarn)
            tid = tarn.rsplit("/", 1)[1]
            container = {
                "containerArn": ecs_arn(spec, f"container/{cluster}/{tid}/{uuid('container', tid)}"),
                "taskArn": tarn,
                "name": name,
                "image": f"{ACCOUNT}.dkr.ecr.{region}.amazonaws.com/{name}:{version}",
                "runtimeId": hexid("runtime", tid, n=40),
                "lastStatus": "RUNNING",
                "networkBindings": [{"bindIP": "0.0.0.0", "containerPort": port, "hostPort": host_port,
                                     "protocol": "tcp"}] if host_port else [],
                "networkInterfaces": [],
                "healthStatus": "HEALTHY" if tg else "UNKNOWN",
                "cpu": "512",
                "memory": "1024",
            }
            tasks.append({
                "attachments": [],
                "attributes": [{"name": "ecs.cpu-architecture", "value": "x86_64"}],
                "availabilityZone": az(spec, instance(spec, host)[1]),
                "clusterArn": cluster_arn,
                "connectivity": "CONNECTED",
                "connectivityAt": ts("2024-05-06", "12:32:03", ".551000"),
                "containerInstanceArn": container_instance_arn(spec, host),
                "containers": [container],
                "cpu": "512",
                "createdAt": ts("2024-05-06", "12:31:58", ".120000"),
                "desiredStatus": "RUNNING",
                "enableExecuteCommand": False,
                "group": f"service:{name}",
                "healthStatus": container["healthStatus"],
                "lastStatus": "RUNNING",
                "launchType": "EC2",
                "memory": "1024",
                "overrides": {"containerOverrides": [{"name": name}], "inferenceAcceleratorOverrides": []},
                "pullStartedAt": ts("2024-05-06", "12:32:05", ".310000"),
                "pullStoppedAt": ts("2024-05-06", "12:32:19", ".846000"),
                "startedAt": ts("2024-05-06", "12:32:24", ".033000"),
                "startedBy": deployment,
                "tags": ecs_tags(e["team"], {"service": name}),
                "taskArn": tarn,
                "taskDefinitionArn": tdef,
                "version": 3,
            })

    clusters = [{
        "clusterArn": cluster_arn,
        "clusterName": cluster,
        "status": "ACTIVE",
        "registeredContainerInstancesCount": len(e["hosts"]),
        "runningTasksCount": ntasks,
        "pendingTasksCount": 0,
        "activeServicesCount": nservices,
        "statistics": [],
        "tags": ecs_tags(e["team"], {"stackstate-identifier": "urn:cluster:/shop-cluster"}),
        "settings": [{"name": "containerInsights", "value": "enabled"}],
        "capacityProviders": [],
        "defaultCapacityProviderStrategy": [],
    }]
    cl = {"cluster": cluster_arn}
    return {
        "ListClusters": [entry({"clusterArns": [cluster_arn]}, {"maxResults": 100})],
        "DescribeClusters": [entry({"clusters": clusters, "failures": []},
                                   {"clusters": [cluster_arn], "include": ["TAGS"]})],
        "ListServices": [entry({"serviceArns": service_arns}, {**cl, "maxResults": 100})],
        "DescribeServices": [entry({"services": services, "failures": []},
                                   {**cl, "services": service_arns, "include": ["TAGS"]})],
        "ListTasks": [entry({"taskArns": task_arns}, {**cl, "maxResults": 100})],
        "DescribeTasks": [entry({"tasks": tasks, "failures": []}, {**cl, "tasks": task_arns, "include": ["TAGS"]})],
        "ListContainerInstances": [entry({"containerInstanceArns": ci_arns}, {**cl, "maxResults": 100})],
        "DescribeContainerInstances": [entry({"containerInstances": cis, "failures": []},
                                             {**cl, "containerInstances": ci_arns})],
    }


# =============================================================== RDS, Redshift

PG = {"engine": "aurora-postgresql", "port": 5432, "family": "aurora-postgresql15", "license": "postgresql-license"}
MYSQL = {"engine": "mysql", "port": 3306, "family": "mysql8.0", "license": "general-public-license"}


def kms_key(region, name):
    return arn("kms", region, f"key/{uuid('kms', region, name)}")


def db_subnet_group(spec, name):
    return {
        "DBSubnetGroupName": name,
        "DBSubnetGroupDescription": f"{name} ({spec['vpc']['name']} data subnets)",
        "VpcId": vpc_id(spec),
        "SubnetGroupStatus": "Complete",
        "Subnets": [{"SubnetIdentifier": subnet_id(spec, s), "SubnetAvailabilityZone": {"Name": az(spec, s)},
                     "SubnetOutpost": {}, "SubnetStatus": "Active"}
                    for s in spec["rds"]["subnet_groups"][name]],
    }


def build_db_instance(spec, name, engine, version, cls, group, sg, zone, tags, cluster=None):
    region = R(spec)
    e = PG if engine.startswith("aurora") else MYSQL
    major = version.split(".")[0]
    db = {
        "DBInstanceIdentifier": name,
        "DBInstanceClass": cls,
        "Engine": engine,
        "DBInstanceStatus": "available",
        "MasterUsername": "acmeadmin",
        "Endpoint": {"Address": rds_endpoint(region, name), "Port": e["port"], "HostedZoneId": RDS_ZONE[region]},
        "AllocatedStorage": 1 if cluster else 100,
        "InstanceCreateTime": ts("2023-05-02", "08:12:40", ".123000"),
        "PreferredBackupWindow": "02:00-02:30",
        "BackupRetentionPeriod": 7,
        "DBSecurityGroups": [],
        "VpcSecurityGroups": [{"VpcSecurityGroupId": sg_id(spec, sg), "Status": "active"}],
        "DBParameterGroups": [{"DBParameterGroupName": f"default.{e['family'] if cluster else 'mysql' + major + '.0'}",
                               "ParameterApplyStatus": "in-sync"}],
        "AvailabilityZone": region + zone,
        "DBSubnetGroup": db_subnet_group(spec, group),
        "PreferredMaintenanceWindow": "sun:04:00-sun:04:30",
        "PendingModifiedValues": {},
        "LatestRestorableTime": ts("2024-05-07", "08:55:00"),
        "MultiAZ": False,
        "EngineVersion": version,
        "AutoMinorVersionUpgrade": True,
        "ReadReplicaDBInstanceIdentifiers": [],
        "ReadReplicaDBClusterIdentifiers": [],
        "LicenseModel": e["license"],
        "OptionGroupMemberships": [{"OptionGroupName": f"default:{engine}-{major}" + ("" if cluster else "-0"),
                                    "Status": "in-sync"}],
        "PubliclyAccessible": False,
        "StorageType": "aurora" if cluster else "gp3",
        "DbInstancePort": 0,
    }
    if cluster:
        db["DBClusterIdentifier"] = cluster
    db.update({
        "StorageEncrypted": True,
        "KmsKeyId": kms_key(region, cluster or name),
        "DbiResourceId": "db-" + alnum("dbi", region, name, n=26, upper=True),
        "CACertificateIdentifier": "rds-ca-rsa2048-g1",
        "DomainMemberships": [],
        "CopyTagsToSnapshot": True,
        "MonitoringInterval": 60,
        "EnhancedMonitoringResourceArn": arn("logs", region, f"log-group:RDSOSMetrics:log-stream:"
                                                             f"db-{alnum('dbi', region, name, n=26, upper=True)}"),
        "MonitoringRoleArn": f"arn:{PARTITION}:iam::{ACCOUNT}:role/rds-monitoring-role",
    })
    if cluster:
        db["PromotionTier"] = 1
    db.update({
        "DBInstanceArn": arn("rds", region, f"db:{name}"),
        "IAMDatabaseAuthenticationEnabled": False,
        "PerformanceInsightsEnabled": bool(cluster),
        "DeletionProtection": not cluster,
        "AssociatedRoles": [],
        "TagList": tag_list(tags),
        "CustomerOwnedIpEnabled": False,
        "BackupTarget": "region",
        "NetworkType": "IPV4",
        "StorageThroughput": 0 if cluster else 125,
        "CertificateDetails": {"CAIdentifier": "rds-ca-rsa2048-g1", "ValidTill": ts("2025-05-02", "08:10:00")},
        "DedicatedLogVolume": False,
        "EngineLifecycleSupport": "open-source-rds-extended-support",
    })
    if not cluster:
        db["Iops"] = 3000
    return db


def rds_responses(spec):
    rds = spec["rds"]
    if not rds:
        return None
    region = R(spec)
    instances, clusters = [], []
    for name, version, group, sg, members, team, extra in rds["clusters"]:
        for member, zone, _writer in members:
            instances.append(build_db_instance(spec, member, PG["engine"], version, "db.r6g.large", group, sg, zone,
                                               tags_of(team), cluster=name))
        clusters.append({
            "AllocatedStorage": 1,
            "AvailabilityZones": [region + "a", region + "b", region + "c"],
            "BackupRetentionPeriod": 7,
            "DatabaseName": "shop",
            "DBClusterIdentifier": name,
            "DBClusterParameterGroup": f"default.{PG['family']}",
            "DBSubnetGroup": group,
            "Status": "available",
            "EarliestRestorableTime": ts("2024-04-30", "02:10:00", ".000000"),
            "Endpoint": rds_endpoint(region, name, "cluster-"),
            "ReaderEndpoint": rds_endpoint(region, name, "cluster-ro-"),
            "MultiAZ": len(members) > 1,
            "Engine": PG["engine"],
            "EngineVersion": version,
            "LatestRestorableTime": ts("2024-05-07", "08:55:00"),
            "Port": PG["port"],
            "MasterUsername": "acmeadmin",
            "PreferredBackupWindow": "02:00-02:30",
            "PreferredMaintenanceWindow": "sat:05:00-sat:05:30",
            "ReadReplicaIdentifiers": [],
            "DBClusterMembers": [{"DBInstanceIdentifier": m, "IsClusterWriter": w,
                                  "DBClusterParameterGroupStatus": "in-sync", "PromotionTier": 1}
                                 for m, _z, w in members],
            "VpcSecurityGroups": [{"VpcSecurityGroupId": sg_id(spec, sg), "Status": "active"}],
            "HostedZoneId": RDS_ZONE[region],
            "StorageEncrypted": True,
            "KmsKeyId": kms_key(region, name),
            "DbClusterResourceId": "cluster-" + alnum("cluster", region, name, n=26, upper=True),
            "DBClusterArn": arn("rds", region, f"cluster:{name}"),
            "AssociatedRoles": [],
            "IAMDatabaseAuthenticationEnabled": False,
            "ClusterCreateTime": ts("2023-05-02", "08:00:00", ".456000"),
            "EngineMode": "provisioned",
            "DeletionProtection": True,
            "HttpEndpointEnabled": False,
            "CopyTagsToSnapshot": True,
            "CrossAccountClone": False,
            "DomainMemberships": [],
            "TagList": tag_list(tags_of(team, extra)),
            "AutoMinorVersionUpgrade": True,
            "NetworkType": "IPV4",
        })
    for name, engine, version, cls, group, sg, zone, team in rds["instances"]:
        instances.append(build_db_instance(spec, name, engine, version, cls, group, sg, zone, tags_of(team)))
    return {
        "DescribeDBInstances": [entry({"DBInstances": instances}, {"MaxRecords": 100})],
        "DescribeDBClusters": [entry({"DBClusters": clusters}, {"MaxRecords": 100})],
    }


def redshift_responses(spec):
    if not spec["redshift"]:
        return None
    region = R(spec)
    clusters = []
    for name, ntype, nodes, group, sg, team in spec["redshift"]:
        base = subnet(spec, "data-a")[1].rsplit(".", 1)[0]
        clusters.append({
            "ClusterIdentifier": name,
            "NodeType": ntype,
            "ClusterStatus": "available",
            "ClusterAvailabilityStatus": "Available",
            "MasterUsername": "awsuser",
            "DBName": "analytics",
            "Endpoint": {"Address": redshift_endpoint(region, name), "Port": 5439, "VpcEndpoints": []},
            "ClusterCreateTime": ts("2023-06-14", "11:03:11", ".512000"),
            "AutomatedSnapshotRetentionPeriod": 7,
            "ManualSnapshotRetentionPeriod": -1,
            "ClusterSecurityGroups": [],
            "VpcSecurityGroups": [{"VpcSecurityGroupId": sg_id(spec, sg), "Status": "active"}],
            "ClusterParameterGroups": [{"ParameterGroupName": "default.redshift-1.0",
                                        "ParameterApplyStatus": "in-sync"}],
            "ClusterSubnetGroupName": group,
            "VpcId": vpc_id(spec),
            "AvailabilityZone": region + "a",
            "PreferredMaintenanceWindow": "sat:02:00-sat:02:30",
            "PendingModifiedValues": {},
            "ClusterVersion": "1.0",
            "AllowVersionUpgrade": True,
            "NumberOfNodes": nodes,
            "PubliclyAccessible": False,
            "Encrypted": True,
            "ClusterPublicKey": f"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC{alnum('key', name, n=40)} Amazon-Redshift\n",
            "ClusterNodes": [{"NodeRole": "LEADER", "PrivateIPAddress": f"{base}.30", "PublicIPAddress": ""}] +
                            [{"NodeRole": f"COMPUTE-{i}", "PrivateIPAddress": f"{base}.{31 + i}",
                              "PublicIPAddress": ""} for i in range(nodes)],
            "ClusterRevisionNumber": "68555",
            "Tags": tag_list({"Name": "Acme analytics warehouse", **tags_of(team)}),
            "KmsKeyId": kms_key(region, name),
            "EnhancedVpcRouting": False,
            "IamRoles": [{"IamRoleArn": f"arn:{PARTITION}:iam::{ACCOUNT}:role/acme-redshift-s3-read",
                          "ApplyStatus": "in-sync"}],
            "MaintenanceTrackName": "current",
            "DeferredMaintenanceWindows": [],
            "NextMaintenanceWindowStartTime": ts("2024-05-11", "02:00:00"),
            "AvailabilityZoneRelocationStatus": "disabled",
            "ClusterNamespaceArn": arn("redshift", region, f"namespace:{uuid('namespace', region, name)}"),
            "TotalStorageCapacityInMegaBytes": 33554432 * nodes // 2,
            "AquaConfiguration": {"AquaStatus": "disabled", "AquaConfigurationStatus": "auto"},
            "MultiAZ": "Disabled",
        })
    return {"DescribeClusters": [entry({"Clusters": clusters}, {"MaxRecords": 100})]}


# =============================================================== Lambda, SQS, SNS


def lambda_responses(spec):
    if not spec["functions"]:
        return None
    region = R(spec)
    functions, tags, aliases = [], [], []
    for name, runtime, memory, timeout, in_vpc, fn_aliases, dlq, team, desc, env, extra in spec["functions"]:
        farn = function_arn(region, name)
        cfg = {
            "FunctionName": name,
            "FunctionArn": farn,
            "Runtime": runtime,
            "Role": f"arn:{PARTITION}:iam::{ACCOUNT}:role/{name}-role",
            "Handler": "index.handler" if runtime.startswith("nodejs") else "app.handler",
            "CodeSize": 20000 + int(hexid("size", name, n=4), 16),
            "Description": desc,
            "Timeout": timeout,
            "MemorySize": memory,
            "LastModified": "2024-05-06T12:2%d:4%d.000+0000" % (len(name) % 10, len(desc) % 10),
            "CodeSha256": alnum("sha", region, name, n=43) + "=",
            "Version": "$LATEST",
            "Environment": {"Variables": {v: ENV_VALUES[v] for v in env}},
            "TracingConfig": {"Mode": "Active"},
            "RevisionId": uuid("revision", region, name),
            "PackageType": "Zip",
            "Architectures": ["arm64"],
            "EphemeralStorage": {"Size": 512},
            "SnapStart": {"ApplyOn": "None", "OptimizationStatus": "Off"},
            "LoggingConfig": {"LogFormat": "JSON", "ApplicationLogLevel": "INFO", "SystemLogLevel": "WARN",
                              "LogGroup": f"/aws/lambda/{name}"},
        }
        if in_vpc:
            cfg["VpcConfig"] = {"SubnetIds": [subnet_id(spec, "private-a"), subnet_id(spec, "private-b")],
                                "SecurityGroupIds": [sg_id(spec, "lambda")], "VpcId": vpc_id(spec),
                                "Ipv6AllowedForDualStack": False}
        if dlq:
            cfg["DeadLetterConfig"] = {"TargetArn": queue_arn(region, dlq)}
        functions.append(cfg)
        tags.append((farn, tags_of(team, {"service": name, **extra})))
        aliases.append(entry({"Aliases": [{
            "AliasArn": f"{farn}:{alias}",
            "Name": alias,
            "FunctionVersion": version,
            "Description": "production traffic",
            "RevisionId": uuid("alias", region, name, alias),
        } for alias, version in fn_aliases]}, {"FunctionName": name}))

    mappings = []
    for fn, (kind, source), qualifier in spec["event_sources"]:
        farn = function_arn(region, fn) + (f":{qualifier}" if qualifier else "")
        m = {"UUID": uuid("esm", region, fn, source)}
        if kind == "sqs":
            m.update({"BatchSize": 10, "MaximumBatchingWindowInSeconds": 0,
                      "EventSourceArn": queue_arn(region, source)})
        else:
            m.update({"StartingPosition": "LATEST", "BatchSize": 100, "MaximumBatchingWindowInSeconds": 1,
                      "ParallelizationFactor": 1,
                      "EventSourceArn": stream_arn(region, source) if kind == "kinesis"
                      else table_stream_arn(region, source)})
        m.update({"FunctionArn": farn, "LastModified": ts("2024-05-06", "12:30:00"), "State": "Enabled",
                  "StateTransitionReason": "USER_INITIATED"})
        if kind != "sqs":
            m.update({"LastProcessingResult": "OK", "DestinationConfig": {"OnFailure": {}},
                      "MaximumRecordAgeInSeconds": -1, "BisectBatchOnFunctionError": False,
                      "MaximumRetryAttempts": -1, "TumblingWindowInSeconds": 0})
        m["FunctionResponseTypes"] = ["ReportBatchItemFailures"] if kind == "sqs" else []
        mappings.append(m)
    return {
        "ListFunctions": [entry({"Functions": functions}, {})],
        **tagging_responses(["lambda:function"], tags),
        "ListAliases": aliases,
        "ListEventSourceMappings": [entry({"EventSourceMappings": mappings}, {})],
    }


def sqs_responses(spec):
    if not spec["queues"]:
        return None
    region = R(spec)
    attrs, tags = [], []
    for i, (name, dlq, visibility, team, topic) in enumerate(spec["queues"]):
        url, qarn = queue_url(region, name), queue_arn(region, name)
        a = {
            "QueueArn": qarn,
            "ApproximateNumberOfMessages": "0" if name.endswith("dlq") else str(3 + i),
            "ApproximateNumberOfMessagesNotVisible": "0",
            "ApproximateNumberOfMessagesDelayed": "0",
            "CreatedTimestamp": str(1682345000 + 60 * i),
            "LastModifiedTimestamp": str(1715000000 + 60 * i),
            "VisibilityTimeout": str(visibility),
            "MaximumMessageSize": "262144",
            "MessageRetentionPeriod": "1209600" if name.endswith("dlq") else "345600",
            "DelaySeconds": "0",
            "ReceiveMessageWaitTimeSeconds": "20",
            "SqsManagedSseEnabled": "true",
        }
        if dlq:
            a["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": queue_arn(region, dlq), "maxReceiveCount": 5},
                                            separators=(",", ":"))
        if topic:
            a["Policy"] = json.dumps({
                "Version": "2012-10-17",
                "Statement": [{"Sid": "topic-subscription", "Effect": "Allow",
                               "Principal": {"Service": "sns.amazonaws.com"}, "Action": "SQS:SendMessage",
                               "Resource": qarn,
                               "Condition": {"ArnLike": {"aws:SourceArn": topic_arn(region, topic)}}}],
            }, separators=(",", ":"))
        attrs.append(entry({"Attributes": a}, {"QueueUrl": url, "AttributeNames": ["All"]}))
        tags.append((qarn, tags_of(team)))
    return {
        "ListQueues": [entry({"QueueUrls": [queue_url(region, q[0]) for q in spec["queues"]]}, {"MaxResults": 1000})],
        **tagging_responses(["sqs"], tags),
        "GetQueueAttributes": attrs,
    }


def sns_responses(spec):
    if not spec["topics"]:
        return None
    region = R(spec)
    attrs, tags, subs = [], [], []
    for name, display, team, subscriptions in spec["topics"]:
        tarn = topic_arn(region, name)
        policy = {"Version": "2008-10-17", "Id": "__default_policy_ID", "Statement": [{
            "Sid": "__default_statement_ID", "Effect": "Allow", "Principal": {"AWS": "*"},
            "Action": ["SNS:GetTopicAttributes", "SNS:SetTopicAttributes", "SNS:AddPermission",
                       "SNS:RemovePermission", "SNS:DeleteTopic", "SNS:Subscribe", "SNS:ListSubscriptionsByTopic",
                       "SNS:Publish"],
            "Resource": tarn, "Condition": {"StringEquals": {"AWS:SourceOwner": ACCOUNT}}}]}
        delivery = {"http": {"defaultHealthyRetryPolicy": {
            "minDelayTarget": 20, "maxDelayTarget": 20, "numRetries": 3, "numMaxDelayRetries": 0,
            "numNoDelayRetries": 0, "numMinDelayRetries": 0, "backoffFunction": "linear"},
            "disableSubscriptionOverrides": False,
            "defaultRequestPolicy": {"headerContentType": "text/plain; charset=UTF-8"}}}
        attrs.append(entry({"Attributes": {
            "Policy": json.dumps(policy, separators=(",", ":")),
            "Owner": ACCOUNT,
            "SubscriptionsPending": "0",
            "TopicArn": tarn,
            "EffectiveDeliveryPolicy": json.dumps(delivery, separators=(",", ":")),
            "SubscriptionsConfirmed": str(len(subscriptions)),
            "DisplayName": display,
            "SubscriptionsDeleted": "0",
        }}, {"TopicArn": tarn}))
        tags.append((tarn, tags_of(team)))
        listed = []
        for protocol, target in subscriptions:
            endpoint = {"sqs": lambda t: queue_arn(region, t),
                        "lambda": lambda t: function_arn(region, t)}.get(protocol, lambda t: t)(target)
            listed.append({"SubscriptionArn": f"{tarn}:{uuid('subscription', tarn, protocol, target)}",
                           "Owner": ACCOUNT, "Protocol": protocol, "Endpoint": endpoint, "TopicArn": tarn})
        subs.append(entry({"Subscriptions": listed}, {"TopicArn": tarn}))
    return {
        "ListTopics": [entry({"Topics": [{"TopicArn": topic_arn(region, t[0])} for t in spec["topics"]]}, {})],
        **tagging_responses(["sns"], tags),
        "GetTopicAttributes": attrs,
        "ListSubscriptionsByTopic": subs,
    }


# =============================================================== Kinesis, Firehose, DynamoDB


def kinesis_responses(spec):
    if not spec["streams"]:
        return None
    region = R(spec)
    created = ts("2023-06-14", "11:20:00")
    summaries, describes, tags = [], [], []
    for name, shards, team in spec["streams"]:
        sarn = stream_arn(region, name)
        summaries.append({"StreamName": name, "StreamARN": sarn, "StreamStatus": "ACTIVE",
                          "StreamModeDetails": {"StreamMode": "PROVISIONED"}, "StreamCreationTimestamp": created})
        describes.append(entry({"StreamDescriptionSummary": {
            "StreamName": name, "StreamARN": sarn, "StreamStatus": "ACTIVE",
            "StreamModeDetails": {"StreamMode": "PROVISIONED"}, "RetentionPeriodHours": 24,
            "StreamCreationTimestamp": created, "EnhancedMonitoring": [{"ShardLevelMetrics": []}],
            "EncryptionType": "KMS", "KeyId": "alias/aws/kinesis", "OpenShardCount": shards,
            "ConsumerCount": 0,
        }}, {"StreamName": name}))
        tags.append((sarn, tags_of(team)))
    return {
        "ListStreams": [entry({"StreamNames": [s["StreamName"] for s in summaries], "HasMoreStreams": False,
                               "StreamSummaries": summaries}, {})],
        **tagging_responses(["kinesis:stream"], tags),
        "DescribeStreamSummary": describes,
    }


def firehose_responses(spec):
    if not spec["firehoses"]:
        return None
    region = R(spec)
    describes, tags = [], []
    for name, source, bucket, prefix, team in spec["firehoses"]:
        role = f"arn:{PARTITION}:iam::{ACCOUNT}:role/acme-data-FirehoseRole"
        common = {
            "RoleARN": role, "BucketARN": bucket_arn(bucket), "Prefix": prefix,
            "ErrorOutputPrefix": "errors/",
            "BufferingHints": {"SizeInMBs": 64, "IntervalInSeconds": 300},
            "CompressionFormat": "GZIP",
            "EncryptionConfiguration": {"NoEncryptionConfig": "NoEncryption"},
            "CloudWatchLoggingOptions": {"Enabled": True, "LogGroupName": f"/aws/kinesisfirehose/{name}",
                                         "LogStreamName": "DestinationDelivery"},
        }
        describes.append(entry({"DeliveryStreamDescription": {
            "DeliveryStreamName": name,
            "DeliveryStreamARN": firehose_arn(region, name),
            "DeliveryStreamStatus": "ACTIVE",
            "DeliveryStreamEncryptionConfiguration": {"Status": "DISABLED"},
            "DeliveryStreamType": "KinesisStreamAsSource",
            "VersionId": "3",
            "CreateTimestamp": ts("2023-06-14", "11:25:30", ".456000"),
            "LastUpdateTimestamp": ts("2024-01-09", "16:02:11", ".100000"),
            "Source": {"KinesisStreamSourceDescription": {
                "KinesisStreamARN": stream_arn(region, source), "RoleARN": role,
                "DeliveryStartTimestamp": ts("2023-06-14", "11:25:31", ".000000")}},
            "Destinations": [{
                "DestinationId": "destinationId-000000000001",
                "S3DestinationDescription": dict(common),
                "ExtendedS3DestinationDescription": {
                    **common,
                    "ProcessingConfiguration": {"Enabled": False},
                    "S3BackupMode": "Disabled",
                    "DataFormatConversionConfiguration": {"Enabled": False},
                },
            }],
            "HasMoreDestinations": False,
        }}, {"DeliveryStreamName": name}))
        tags.append((firehose_arn(region, name), tags_of(team)))
    return {
        "ListDeliveryStreams": [entry({"DeliveryStreamNames": [f[0] for f in spec["firehoses"]],
                                       "HasMoreDeliveryStreams": False}, {"Limit": 10000})],
        **tagging_responses(["firehose:deliverystream"], tags),
        "DescribeDeliveryStream": describes,
    }


def dynamodb_responses(spec):
    if not spec["tables"]:
        return None
    region = R(spec)
    describes, tags = [], []
    for name, hash_key, range_key, stream, team in spec["tables"]:
        keys = [(hash_key, "HASH")] + ([(range_key, "RANGE")] if range_key else [])
        t = {
            "AttributeDefinitions": [{"AttributeName": k, "AttributeType": "S"} for k, _ in keys],
            "TableName": name,
            "KeySchema": [{"AttributeName": k, "KeyType": kt} for k, kt in keys],
            "TableStatus": "ACTIVE",
            "CreationDateTime": ts("2023-04-24", "14:10:21", ".512000"),
            "ProvisionedThroughput": {"NumberOfDecreasesToday": 0, "ReadCapacityUnits": 0, "WriteCapacityUnits": 0},
            "TableSizeBytes": 48 * 1048576 if stream else 3 * 1048576,
            "ItemCount": 182340 if stream else 9120,
            "TableArn": table_arn(region, name),
            "TableId": uuid("table", region, name),
            "BillingModeSummary": {"BillingMode": "PAY_PER_REQUEST",
                                   "LastUpdateToPayPerRequestDateTime": ts("2023-04-24", "14:10:21", ".512000")},
            "SSEDescription": {"Status": "ENABLED", "SSEType": "KMS",
                               "KMSMasterKeyArn": kms_key(region, "dynamodb")},
            "TableClassSummary": {"TableClass": "STANDARD"},
            "DeletionProtectionEnabled": True,
        }
        if stream:
            t["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
            t["LatestStreamLabel"] = table_stream_label(region, name)
            t["LatestStreamArn"] = table_stream_arn(region, name)
        describes.append(entry({"Table": t}, {"TableName": name}))
        tags.append((table_arn(region, name), tags_of(team)))
    return {
        "ListTables": [entry({"TableNames": sorted(t[0] for t in spec["tables"])}, {})],
        **tagging_responses(["dynamodb:table"], tags),
        "DescribeTable": describes,
    }


# =============================================================== API Gateway


def build_integration(spec, api, path, verb, target):
    region = R(spec)
    rid = resource_id(region, api, path)
    kind = target[0]
    base = {"passthroughBehavior": "WHEN_NO_MATCH", "timeoutInMillis": 29000, "cacheNamespace": rid,
            "cacheKeyParameters": []}
    if kind == "lambda":
        fn = function_arn(region, target[1]) + (f":{target[2]}" if target[2] else "")
        return {"type": "AWS_PROXY", "httpMethod": "POST",
                "uri": f"arn:{PARTITION}:apigateway:{region}:lambda:path/2015-03-31/functions/{fn}/invocations",
                **base, "contentHandling": "CONVERT_TO_TEXT"}
    if kind == "sqs":
        return {"type": "AWS", "httpMethod": "POST",
                "uri": f"arn:{PARTITION}:apigateway:{region}:sqs:path/{ACCOUNT}/{target[1]}",
                "credentials": f"arn:{PARTITION}:iam::{ACCOUNT}:role/shop-api-sqs-send",
                "requestParameters": {"integration.request.header.Content-Type":
                                      "'application/x-www-form-urlencoded'"},
                "requestTemplates": {"application/json": "Action=SendMessage&MessageBody=$util.urlEncode($input.body)"},
                **dict(base, passthroughBehavior="NEVER"),
                "integrationResponses": {"200": {"statusCode": "200",
                                                 "responseTemplates": {"application/json": '{"accepted": true}'}}}}
    if kind == "http":
        return {"type": "HTTP_PROXY", "httpMethod": verb, "uri": target[1], "connectionType": "INTERNET", **base}
    return {"type": "MOCK", **base, "requestTemplates": {"application/json": '{"statusCode": 200}'},
            "integrationResponses": {"200": {"statusCode": "200"}}}


def apigateway_responses(spec):
    a = spec["api"]
    if not a:
        return None
    region, name = R(spec), a["name"]
    aid = api_id(region, name)
    api = {
        "id": aid,
        "name": name,
        "description": "Acme shop public API",
        "createdDate": ts("2023-04-24", "14:30:00"),
        "apiKeySource": "HEADER",
        "endpointConfiguration": {"types": ["REGIONAL"], "ipAddressType": "ipv4"},
        "tags": tags_of(a["team"], {"stackstate-identifier": "urn:service:/shop-api"}),
        "disableExecuteApiEndpoint": False,
        "rootResourceId": resource_id(region, name, "/"),
    }
    stages = [{
        "deploymentId": alnum("deployment", region, name, stage, n=6),
        "stageName": stage,
        "cacheClusterEnabled": False,
        "cacheClusterStatus": "NOT_AVAILABLE",
        "methodSettings": {"*/*": {"metricsEnabled": True, "loggingLevel": "ERROR", "dataTraceEnabled": False,
                                   "throttlingBurstLimit": 500, "throttlingRateLimit": 1000.0,
                                   "cachingEnabled": False, "cacheTtlInSeconds": 300, "cacheDataEncrypted": False,
                                   "requireAuthorizationForCacheControl": True,
                                   "unauthorizedCacheControlHeaderStrategy": "SUCCEED_WITH_RESPONSE_HEADER"}},
        "tracingEnabled": True,
        "tags": tags_of(a["team"], extra),
        "createdDate": ts("2023-04-24", "14:31:00"),
        "lastUpdatedDate": ts("2024-05-06", "12:40:00"),
    } for stage, extra in a["stages"]]
    resources = []
    for path, methods in a["resources"].items():
        r = {"id": resource_id(region, name, path)}
        if path != "/":
            parent = path.rsplit("/", 1)[0] or "/"
            r.update({"parentId": resource_id(region, name, parent), "pathPart": path.rsplit("/", 1)[1]})
        r["path"] = path
        if methods:
            r["resourceMethods"] = {verb: {
                "httpMethod": verb,
                "authorizationType": "AWS_IAM" if verb == "POST" else "NONE",
                "apiKeyRequired": verb == "POST",
                **({"requestParameters": {"method.request.path.orderId": True}} if "{orderId}" in path else {}),
                "methodResponses": {"200": {"statusCode": "200", "responseModels": {"application/json": "Empty"}}},
                "methodIntegration": build_integration(spec, name, path, verb, target),
            } for verb, target in methods.items()}
        resources.append(r)
    return {
        "GetRestApis": [entry({"items": [api]}, {"limit": 500})],
        "GetStages": [entry({"item": stages}, {"restApiId": aid})],
        "GetResources": [entry({"items": resources}, {"restApiId": aid, "embed": ["methods"], "limit": 500})],
    }


# =============================================================== CloudFormation


def physical_id(spec, ref):
    """The PhysicalResourceId CloudFormation reports for a resource named "kind:name"."""
    region = R(spec)
    kind, name = ref.split(":", 1)
    if kind == "raw":
        return name.replace("vpc:" + spec["vpc"]["name"], vpc_id(spec))
    simple = {
        "vpc": lambda: vpc_id(spec), "subnet": lambda: subnet_id(spec, name), "sg": lambda: sg_id(spec, name),
        "vgw": lambda: ec2_id("vgw", region, name), "igw": lambda: ec2_id("igw", region, name),
        "nat": lambda: ec2_id("nat", region, name), "rtb": lambda: ec2_id("rtb", region, name),
        "lt": lambda: ec2_id("lt", region, name + "-asg"),
        "alb": lambda: alb_arn(spec, name), "tg": lambda: tg_arn(spec, name),
        "listener": lambda: alb_arn(spec, name).replace(":loadbalancer/", ":listener/") + "/" + hexid("l", name),
        "asg": lambda: name,
        "cluster": lambda: name,
        "service": lambda: ecs_arn(spec, f"service/{spec['ecs']['cluster']}/{name}"),
        "taskdef": lambda: taskdef_arn(spec, name),
        "function": lambda: name,
        "alias": lambda: function_arn(region, name),
        "esm": lambda: uuid("esm", region, name, "orders-queue"),
        "role": lambda: name,
        "queue": lambda: queue_url(region, name),
        "topic": lambda: topic_arn(region, name),
        "subscription": lambda: f"{topic_arn(region, name.split(':')[0])}:{uuid('cfn-sub', name)}",
        "table": lambda: name,
        "api": lambda: api_id(region, name),
        "deployment": lambda: alnum("deployment", region, spec["api"]["name"], name, n=6),
        "bucket": lambda: name,
        "rdscluster": lambda: name, "rdsdb": lambda: name, "redshift": lambda: name,
        "stream": lambda: name, "firehose": lambda: name,
        "zone": lambda: zone_id(name),
    }
    return simple[kind]()


def cloudformation_responses(spec):
    if not spec["stacks"]:
        return None
    region = R(spec)
    stacks, resources, asg_names = [], [], []
    for name, desc, status, team, members in spec["stacks"]:
        sid = stack_id(region, name)
        s = {
            "StackId": sid,
            "StackName": name,
            "Description": desc,
            "CreationTime": ts("2023-04-24", "13:58:12", ".318000"),
        }
        if status == "UPDATE_COMPLETE":
            s["LastUpdatedTime"] = ts("2024-05-06", "12:28:40", ".912000")
        s.update({
            "RollbackConfiguration": {},
            "StackStatus": status,
            "DisableRollback": False,
            "NotificationARNs": [topic_arn(region, "ops-alerts")] if region == "eu-west-1" else [],
            "Capabilities": ["CAPABILITY_NAMED_IAM"],
            "Tags": tag_list(tags_of(team)),
            "EnableTerminationProtection": True,
            "DriftInformation": {"StackDriftStatus": "NOT_CHECKED"},
        })
        stacks.append(s)
        summaries = []
        for logical, rtype, ref in members:
            summaries.append({
                "LogicalResourceId": logical,
                "PhysicalResourceId": physical_id(spec, ref),
                "ResourceType": rtype,
                "LastUpdatedTimestamp": s.get("LastUpdatedTime", s["CreationTime"]),
                "ResourceStatus": "CREATE_COMPLETE" if status == "CREATE_COMPLETE" else "UPDATE_COMPLETE",
                "DriftInformation": {"StackResourceDriftStatus": "NOT_CHECKED"},
            })
            if rtype == "AWS::AutoScaling::AutoScalingGroup":
                asg_names.append(physical_id(spec, ref))
        resources.append(entry({"StackResourceSummaries": summaries}, {"StackName": sid}))
    out = {
        "DescribeStacks": [entry({"Stacks": stacks}, {})],
        "ListStackResources": resources,
    }
    if asg_names:
        groups = [build_asg(spec, a, with_instances=False) for n in asg_names for a in spec["asgs"] if a[0] == n]
        out["autoscaling:DescribeAutoScalingGroups"] = [entry(
            {"AutoScalingGroups": groups},
            {"AutoScalingGroupNames": asg_names, "MaxRecords": 100, "IncludeInstances": False})]
    return out


# =============================================================== S3, Route 53 (global)


def s3_responses():
    home = R(REGIONS[0])
    buckets, tagging, notifications = [], [], []
    for i, (name, region, team, extra, notify) in enumerate(BUCKETS):
        buckets.append({"Name": name, "CreationDate": ts("2023-0%d-1%d" % (4 + i % 5, i % 10), "10:2%d:00" % i),
                        "BucketRegion": region})
        if team:
            tagging.append(entry({"TagSet": tag_list(tags_of(team, extra))}, {"Bucket": name}, region))
        else:
            tagging.append({"params": {"Bucket": name}, "region": region,
                            "error": {"code": "NoSuchTagSet", "message": "The TagSet does not exist", "status": 404}})
        config = {}
        if notify:
            fn, events, prefix = notify
            c = {"Id": f"{fn}-trigger", "LambdaFunctionArn": function_arn(region, fn), "Events": events}
            if prefix:
                c["Filter"] = {"Key": {"FilterRules": [{"Name": "Prefix", "Value": prefix}]}}
            config["LambdaFunctionConfigurations"] = [c]
        notifications.append(entry(config, {"Bucket": name}, region))
    assert all(b[1] in [R(s) for s in REGIONS] for b in BUCKETS)
    owner = {"DisplayName": "acme-aws", "ID": hexid("canonical-user", ACCOUNT, n=64)}
    return home, {
        "ListBuckets": [entry({"Buckets": buckets, "Owner": owner}, {"MaxBuckets": 1000})],
        "GetBucketTagging": tagging,
        "GetBucketNotificationConfiguration": notifications,
    }


def record_value(name, rtype, value, zone):
    """The rest of a ResourceRecordSet: AliasTarget or TTL + ResourceRecords."""
    if value is None and rtype == "NS":
        n = int(hexid("ns", zone, n=4), 16)
        servers = [f"ns-{n % 512}.awsdns-{n % 64:02d}.com.", f"ns-{512 + n % 512}.awsdns-{n % 64:02d}.net.",
                   f"ns-{1024 + n % 512}.awsdns-{n % 64:02d}.org.", f"ns-{1536 + n % 512}.awsdns-{n % 64:02d}.co.uk."]
        return {"TTL": 172800, "ResourceRecords": [{"Value": s} for s in servers]}
    if value is None and rtype == "SOA":
        n = int(hexid("ns", zone, n=4), 16)
        return {"TTL": 900, "ResourceRecords": [{"Value": f"ns-{n % 512}.awsdns-{n % 64:02d}.com. "
                                                          "awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400"}]}
    if isinstance(value, list):
        return {"TTL": 300, "ResourceRecords": [{"Value": v} for v in value]}
    kind = value[0]
    if kind == "alias-record":
        return {"AliasTarget": {"HostedZoneId": zone_id(zone), "DNSName": value[1] + ".",
                                "EvaluateTargetHealth": False}}
    if kind == "alb":
        return {"AliasTarget": {"HostedZoneId": ELB_ZONE[value[1]],
                                "DNSName": f"dualstack.{alb_dns(value[1], value[2])}.",
                                "EvaluateTargetHealth": True}}
    if kind == "apigw":
        return {"AliasTarget": {"HostedZoneId": APIGW_ZONE[value[1]],
                                "DNSName": f"d-{alnum('apigw-domain', value[2], n=10)}.execute-api.{value[1]}."
                                           "amazonaws.com.",
                                "EvaluateTargetHealth": False}}
    target = {"elb": lambda: elb_dns(value[1], value[2]),
              "redshift": lambda: redshift_endpoint(value[1], value[2]),
              "rds": lambda: rds_endpoint(value[1], value[2]),
              "aurora": lambda: rds_endpoint(value[1], value[2], "cluster-")}[kind]()
    return {"TTL": 300, "ResourceRecords": [{"Value": target}]}


def route53_responses():
    zones, tag_sets, records = [], [], []
    for name, private, team, rrs in ZONES:
        zid = zone_id(name)
        zones.append({
            "Id": f"/hostedzone/{zid}",
            "Name": name + ".",
            "CallerReference": uuid("caller", name),
            "Config": {"Comment": "Acme shop " + ("internal names" if private else "public domain"),
                       "PrivateZone": private},
            "ResourceRecordSetCount": len(rrs),
        })
        tag_sets.append({"ResourceType": "hostedzone", "ResourceId": zid, "Tags": tag_list(tags_of(team))})
        records.append(entry({"ResourceRecordSets": [
            {"Name": rname + ".", "Type": rtype, **record_value(rname, rtype, value, name)}
            for rname, rtype, value in rrs], "IsTruncated": False, "MaxItems": "300"}, {"HostedZoneId": zid}))
    assert len(zones) <= 10, "ListTagsForResources takes 10 ids: split the entry"
    return R(REGIONS[0]), {
        "ListHostedZones": [entry({"HostedZones": zones, "IsTruncated": False, "MaxItems": "100"},
                                  {"MaxItems": "100"})],
        "ListTagsForResources": [entry({"ResourceTagSets": tag_sets},
                                       {"ResourceType": "hostedzone", "ResourceIds": [zone_id(z[0]) for z in ZONES]})],
        "ListResourceRecordSets": records,
    }


# =============================================================== the demo directory

REGIONAL = {
    "vpc": vpc_responses, "ec2": ec2_responses, "vpngateway": vpngateway_responses,
    "elbv2": elbv2_responses, "elb": elb_responses, "autoscaling": autoscaling_responses,
    "ecs": ecs_responses, "rds": rds_responses, "redshift": redshift_responses,
    "lambda": lambda_responses, "sqs": sqs_responses, "sns": sns_responses,
    "kinesis": kinesis_responses, "firehose": firehose_responses, "dynamodb": dynamodb_responses,
    "apigateway": apigateway_responses, "cloudformation": cloudformation_responses,
}

# mapping -> the service (model) its plain operation names belong to
SERVICE = {"vpc": "ec2", "vpngateway": "ec2", "s3": "s3", "route53": "route53"}


def build():
    """{ "<region>/<mapping>.json": responses }"""
    files = {}
    for spec in REGIONS:
        for mapping, fn in REGIONAL.items():
            responses = fn(spec)
            if responses:
                files[f"{R(spec)}/{mapping}.json"] = responses
    for mapping, fn in (("s3", s3_responses), ("route53", route53_responses)):
        region, responses = fn()
        files[f"{region}/{mapping}.json"] = responses
    return files


# =============================================================== checking against the models


class Models:
    def __init__(self, root):
        self.root, self.cache = root, {}

    def get(self, service):
        if service not in self.cache:
            paths = sorted(glob.glob(os.path.join(self.root, service, "*", "service-2.json")))
            if not paths:
                raise SystemExit(f"gen-demo: no model for {service} under {self.root}")
            with open(paths[-1]) as f:
                self.cache[service] = json.load(f)
        return self.cache[service]


def check_value(model, shape_name, value, where, problems):
    shape = model["shapes"][shape_name]
    t = shape["type"]
    if t == "structure":
        if not isinstance(value, dict):
            problems.append(f"{where}: {shape_name} wants an object")
            return
        for k, v in value.items():
            member = shape["members"].get(k)
            if member is None:
                problems.append(f"{where}: {shape_name} has no member {k}")
            else:
                check_value(model, member["shape"], v, f"{where}.{k}", problems)
    elif t == "list":
        if not isinstance(value, list):
            problems.append(f"{where}: {shape_name} wants a list")
            return
        for i, v in enumerate(value):
            check_value(model, shape["member"]["shape"], v, f"{where}[{i}]", problems)
    elif t == "map":
        if not isinstance(value, dict):
            problems.append(f"{where}: {shape_name} wants an object (map)")
            return
        for k, v in value.items():
            check_value(model, shape["key"]["shape"], k, f"{where} key {k}", problems)
            check_value(model, shape["value"]["shape"], v, f"{where}.{k}", problems)
    elif t == "string":
        if not isinstance(value, str):
            problems.append(f"{where}: {shape_name} wants a string, not {value!r}")
        elif "enum" in shape and value.lower() not in [v.lower() for v in shape["enum"]]:
            # (case-insensitive: S3 answers "Prefix" where its model says "prefix")
            problems.append(f"{where}: {value!r} is not one of {shape_name}'s values")
    elif t in ("integer", "long"):
        if not isinstance(value, int) or isinstance(value, bool):
            problems.append(f"{where}: {shape_name} wants an integer, not {value!r}")
    elif t in ("double", "float"):
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            problems.append(f"{where}: {shape_name} wants a number, not {value!r}")
    elif t == "boolean":
        if not isinstance(value, bool):
            problems.append(f"{where}: {shape_name} wants a boolean, not {value!r}")
    elif t in ("timestamp", "blob"):
        if not isinstance(value, str):
            problems.append(f"{where}: {shape_name} wants a string ({t}), not {value!r}")


def check(files, models):
    problems = []
    for path, responses in files.items():
        mapping = os.path.basename(path)[:-len(".json")]
        for key, entries in responses.items():
            service, op = key.split(":") if ":" in key else (SERVICE.get(mapping, mapping), key)
            model = models.get(service)
            operation = model["operations"].get(op)
            if operation is None:
                problems.append(f"{path}: {service} model has no operation {op}")
                continue
            for i, e in enumerate(entries):
                where = f"{path} {key}[{i}]"
                if "params" in e and "input" in operation:
                    check_value(model, operation["input"]["shape"], e["params"], where + " params", problems)
                if "response" in e and "output" in operation:
                    check_value(model, operation["output"]["shape"], e["response"], where + " response", problems)
    return problems


# =============================================================== main


def render(responses):
    return json.dumps(responses, indent=1, ensure_ascii=False) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if demo/ differs from what would be written")
    ap.add_argument("--out", default=os.path.join(REPO, "demo"), help="the demo directory (default: demo/)")
    ap.add_argument("--models", default=os.path.join(REPO, "models"), help="service models (default: models/)")
    args = ap.parse_args()

    files = build()
    problems = check(files, Models(args.models))
    if problems:
        for p in problems:
            print("gen-demo: " + p, file=sys.stderr)
        return 1

    existing = set()
    for path in glob.glob(os.path.join(args.out, "*", "*.json")):
        existing.add(os.path.relpath(path, args.out))
    if args.check:
        stale = sorted(existing - set(files))
        for rel, responses in sorted(files.items()):
            path = os.path.join(args.out, rel)
            if not os.path.exists(path) or open(path).read() != render(responses):
                stale.append(rel)
        for rel in stale:
            print(f"gen-demo: demo/{rel} is not up to date (run python3 tools/gen-demo.py)", file=sys.stderr)
        return 1 if stale else 0

    for rel in sorted(existing - set(files)):
        os.remove(os.path.join(args.out, rel))
    for rel, responses in sorted(files.items()):
        path = os.path.join(args.out, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(render(responses))
    print(f"gen-demo: wrote {len(files)} files under {os.path.relpath(args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
