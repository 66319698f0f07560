import pytest


@pytest.fixture(scope="session")
def hub_registry():
    """Installed plugins (make test installs every plugin under plugins/ and the example vendor)."""
    from hub.plugins import VendorRegistry

    return VendorRegistry.from_entry_points()
