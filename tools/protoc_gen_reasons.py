#!/usr/bin/env python3
"""protoc plugin: the Python constants of each package's `ErrorReason` enum.

For every file that declares `enum ErrorReason` (passculture/<service>/v1/errors.proto), writes
`passculture/<service>/v1/reasons.py` beside the protobuf code: a `Reason` StrEnum whose values
are the names the wire carries in google.rpc.ErrorInfo.reason. Services raise `Reason.SOLD_OUT`
rather than a string, so that a misspelt reason fails mypy in `make lint`.

    python -m grpc_tools.protoc -I protos --plugin=protoc-gen-reasons=tools/protoc_gen_reasons.py \
        --reasons_out=gen protos/passculture/booking/v1/errors.proto
"""

import sys

from google.protobuf.compiler import plugin_pb2
from google.protobuf.descriptor_pb2 import FileDescriptorProto

ENUM = "ErrorReason"
# SourceCodeInfo paths: FileDescriptorProto.enum_type is field 5, EnumDescriptorProto.value 2.
ENUM_TYPE, ENUM_VALUE = 5, 2


def _comments(proto: FileDescriptorProto, enum_index: int) -> dict[int, str]:
    """The leading comment of each value of the enum, by value index."""
    comments = {}
    for location in proto.source_code_info.location:
        path = list(location.path)
        if path[:3] == [ENUM_TYPE, enum_index, ENUM_VALUE] and len(path) == 4:
            comments[path[3]] = " ".join(location.leading_comments.split())
    return comments


def _module(proto: FileDescriptorProto, enum_index: int) -> str:
    enum = proto.enum_type[enum_index]
    comments = _comments(proto, enum_index)
    lines = [
        f'"""Generated from {proto.name} by tools/protoc_gen_reasons.py: do not edit."""',
        "",
        "from enum import StrEnum",
        "",
        "",
        "class Reason(StrEnum):",
        f'    """{proto.package}.{ENUM}: what google.rpc.ErrorInfo.reason carries."""',
        "",
    ]
    for index, value in enumerate(enum.value):
        if value.number == 0:
            continue
        if comment := comments.get(index):
            lines.append(f"    #: {comment}")
        lines.append(f'    {value.name} = "{value.name}"')
    return "\n".join(lines) + "\n"


def generate(request: plugin_pb2.CodeGeneratorRequest) -> plugin_pb2.CodeGeneratorResponse:
    response = plugin_pb2.CodeGeneratorResponse(
        supported_features=plugin_pb2.CodeGeneratorResponse.FEATURE_PROTO3_OPTIONAL
    )
    by_name = {proto.name: proto for proto in request.proto_file}
    for name in request.file_to_generate:
        proto = by_name[name]
        for index, enum in enumerate(proto.enum_type):
            if enum.name == ENUM:
                out = response.file.add()
                out.name = name.rsplit("/", 1)[0] + "/reasons.py"
                out.content = _module(proto, index)
    return response


def main() -> None:
    request = plugin_pb2.CodeGeneratorRequest.FromString(sys.stdin.buffer.read())
    sys.stdout.buffer.write(generate(request).SerializeToString())


if __name__ == "__main__":
    main()
