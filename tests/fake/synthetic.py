"""synthetic.py -- a generated EC2 account of any size, for benchmarks.

With --synthetic N the fake answers DescribeInstances, DescribeVpcs,
DescribeSubnets and DescribeSecurityGroups from an account computed on the
fly (nothing is stored): N instances spread over max(1, N // 100) VPCs, with
4 subnets and 3 security groups per VPC. Every instance names a subnet, VPC
and security group that exist, so relations resolve.

Paging follows EC2: MaxResults (default 1000) and an opaque NextToken. The
ID filters (InstanceId.N, VpcId.N, SubnetId.N, GroupId.N) are honoured;
Filter.N is ignored.
"""

OWNER = "123456789012"
NS = "http://ec2.amazonaws.com/doc/2016-11-15/"
SUBNETS_PER_VPC = 4
GROUPS_PER_VPC = 3
DEFAULT_PAGE = 1000


class Account:
    """The shape of a synthetic account of n instances."""

    def __init__(self, n):
        self.instances = n
        self.vpcs = max(1, n // 100)
        self.subnets = self.vpcs * SUBNETS_PER_VPC
        self.groups = self.vpcs * GROUPS_PER_VPC

    # IDs are pure functions of an index, so any page can be built alone.
    @staticmethod
    def vpc_id(i):
        return "vpc-%017x" % (0x100000 + i)

    @staticmethod
    def subnet_id(i):
        return "subnet-%017x" % (0x200000 + i)

    @staticmethod
    def group_id(i):
        return "sg-%017x" % (0x300000 + i)

    @staticmethod
    def instance_id(i):
        return "i-%017x" % (0x400000 + i)

    def instance_vpc(self, i):
        return i % self.vpcs

    def instance_subnet(self, i):
        return self.instance_vpc(i) * SUBNETS_PER_VPC + (i // self.vpcs) % SUBNETS_PER_VPC

    def instance_group(self, i):
        return self.instance_vpc(i) * GROUPS_PER_VPC + i % GROUPS_PER_VPC


def _az(region, subnet):
    return region + "abc"[subnet % 3]


def _tags(name):
    return "<tagSet><item><key>Name</key><value>%s</value></item></tagSet>" % name


def _vpc_xml(acct, i, region):
    return ("<item><vpcId>%s</vpcId><ownerId>%s</ownerId><state>available</state>"
            "<cidrBlock>10.%d.0.0/16</cidrBlock><isDefault>false</isDefault>"
            "<instanceTenancy>default</instanceTenancy>%s</item>"
            % (acct.vpc_id(i), OWNER, i % 256, _tags("synthetic-vpc-%d" % i)))


def _subnet_xml(acct, i, region):
    vpc = i // SUBNETS_PER_VPC
    arn = "arn:aws:ec2:%s:%s:subnet/%s" % (region, OWNER, acct.subnet_id(i))
    return ("<item><subnetId>%s</subnetId><vpcId>%s</vpcId><state>available</state>"
            "<cidrBlock>10.%d.%d.0/24</cidrBlock><availabilityZone>%s</availabilityZone>"
            "<availableIpAddressCount>250</availableIpAddressCount><ownerId>%s</ownerId>"
            "<subnetArn>%s</subnetArn>%s</item>"
            % (acct.subnet_id(i), acct.vpc_id(vpc), vpc % 256, i % SUBNETS_PER_VPC,
               _az(region, i), OWNER, arn, _tags("synthetic-subnet-%d" % i)))


def _group_xml(acct, i, region):
    vpc = i // GROUPS_PER_VPC
    return ("<item><ownerId>%s</ownerId><groupId>%s</groupId><groupName>synthetic-sg-%d"
            "</groupName><groupDescription>synthetic</groupDescription><vpcId>%s</vpcId>"
            "<ipPermissions/><ipPermissionsEgress/>%s</item>"
            % (OWNER, acct.group_id(i), i, acct.vpc_id(vpc), _tags("synthetic-sg-%d" % i)))


def _instance_xml(acct, i, region):
    subnet, group = acct.instance_subnet(i), acct.instance_group(i)
    ip = "10.%d.%d.%d" % (acct.instance_vpc(i) % 256, subnet % SUBNETS_PER_VPC, 4 + i % 250)
    instance = (
        "<item><instanceId>%s</instanceId><imageId>ami-0123456789abcdef0</imageId>"
        "<instanceState><code>16</code><name>running</name></instanceState>"
        "<privateDnsName>ip-%s.ec2.internal</privateDnsName><instanceType>t3.micro"
        "</instanceType><launchTime>2023-01-01T00:00:00.000Z</launchTime><placement>"
        "<availabilityZone>%s</availabilityZone><tenancy>default</tenancy></placement>"
        "<subnetId>%s</subnetId><vpcId>%s</vpcId><privateIpAddress>%s</privateIpAddress>"
        "<groupSet><item><groupId>%s</groupId><groupName>synthetic-sg-%d</groupName></item>"
        "</groupSet><architecture>x86_64</architecture>%s</item>"
        % (acct.instance_id(i), ip.replace(".", "-"), _az(region, subnet),
           acct.subnet_id(subnet), acct.vpc_id(acct.instance_vpc(i)), ip,
           acct.group_id(group), group, _tags("synthetic-%d" % i)))
    return ("<item><reservationId>r-%017x</reservationId><ownerId>%s</ownerId><groupSet/>"
            "<instancesSet>%s</instancesSet></item>" % (0x500000 + i, OWNER, instance))


# operation -> (count attribute, id function, id filter param, list element, item writer)
OPERATIONS = {
    "DescribeInstances": ("instances", Account.instance_id, "InstanceId", "reservationSet",
                          _instance_xml),
    "DescribeVpcs": ("vpcs", Account.vpc_id, "VpcId", "vpcSet", _vpc_xml),
    "DescribeSubnets": ("subnets", Account.subnet_id, "SubnetId", "subnetSet", _subnet_xml),
    "DescribeSecurityGroups": ("groups", Account.group_id, "GroupId", "securityGroupInfo",
                               _group_xml),
}


class BadRequest(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


def _id_filter(params, name):
    prefix = name + "."
    return {v for k, v in params.items() if k.startswith(prefix)}


def _page_bounds(params, total):
    try:
        size = int(params.get("MaxResults", DEFAULT_PAGE))
    except ValueError:
        raise BadRequest("InvalidParameterValue", "MaxResults must be a number") from None
    token = params.get("NextToken")
    start = 0
    if token:
        if not token.startswith("synth-") or not token[6:].isdigit():
            raise BadRequest("InvalidParameterValue", "Invalid NextToken")
        start = int(token[6:])
    return start, min(total, start + max(1, size))


class Synthetic:
    """Answers the four EC2 Describe calls for an Account of n instances."""

    def __init__(self, n):
        self.account = Account(n)

    def handles(self, service, operation):
        return service == "ec2" and operation in OPERATIONS

    def respond(self, operation, params, region, request_id):
        """The XML body of one page; raises BadRequest."""
        count_attr, id_of, id_param, list_name, item = OPERATIONS[operation]
        total = getattr(self.account, count_attr)
        wanted = _id_filter(params, id_param)
        if wanted:
            indexes = [i for i in range(total) if id_of(i) in wanted]
            start, end, next_token = 0, len(indexes), None
        else:
            start, end = _page_bounds(params, total)
            indexes = range(start, end)
            next_token = "synth-%d" % end if end < total else None
        items = "".join(item(self.account, i, region) for i in indexes)
        token_xml = "<nextToken>%s</nextToken>" % next_token if next_token else ""
        return ('<?xml version="1.0" encoding="UTF-8"?>\n<%sResponse xmlns="%s">'
                "<requestId>%s</requestId><%s>%s</%s>%s</%sResponse>"
                % (operation, NS, request_id, list_name, items, list_name, token_xml,
                   operation)).encode()
