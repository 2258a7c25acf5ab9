"""Fixtures of the server tests: a stub on the module's ``server`` (a ServerThread)."""

import grpc
import pytest

from v2m.v1 import scoring_pb2_grpc as pb_grpc


@pytest.fixture
def stub(server):
    """(ScoringServiceStub, channel) on the module's ``server`` fixture."""
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        yield pb_grpc.ScoringServiceStub(channel), channel
