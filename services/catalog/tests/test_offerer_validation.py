from datetime import UTC, datetime

import pytest

from catalog import offerers
from catalog.domain.status import OffererStatus
from catalog.models import Offerer

NOW = datetime(2027, 1, 10, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("status", [OffererStatus.PENDING, OffererStatus.REJECTED])
def test_validating_an_offerer(status):
    offerer = Offerer(status=status)
    offerers.validate(offerer, NOW)
    assert (offerer.status, offerer.validated_at) == (OffererStatus.VALIDATED, NOW)


def test_validating_again_changes_nothing():
    offerer = Offerer(status=OffererStatus.VALIDATED, validated_at=NOW)
    offerers.validate(offerer, datetime.now(UTC))
    assert offerer.validated_at == NOW
