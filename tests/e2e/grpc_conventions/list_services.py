"""Lists a gRPC server's services with stock grpcio-reflection, which
speaks only grpc.reflection.v1alpha. Prints one service name a line.

Usage: python list_services.py HOST:PORT
"""

import sys

import grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc


def main() -> int:
    with grpc.insecure_channel(sys.argv[1]) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        for response in stub.ServerReflectionInfo(iter([request]), timeout=30):
            if response.HasField("error_response"):
                print(response.error_response.error_message, file=sys.stderr)
                return 1
            for service in response.list_services_response.service:
                print(service.name)
            return 0
    return 1


if __name__ == "__main__":
    sys.exit(main())
