"""A sandbox built on the kit imports where pytest is not installed (``flask hub up`` in production): the
``hub.testing`` package loads its contract suite only when a test first uses it."""

import subprocess
import sys


def test_the_sandbox_kit_imports_without_pytest() -> None:
    code = ("import sys; sys.modules['pytest'] = None\n"  # importing pytest now raises ImportError
            "import hub.testing.sandbox, hub_trigon.sandbox\n"
            "assert 'hub.testing.contract' not in sys.modules\n"
            "hub_trigon.sandbox.create_app()\n"
            "print('ok')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


def test_the_suite_names_are_still_offered_by_hub_testing() -> None:
    import hub.testing
    from hub.testing import VendorContractTests, make_context  # noqa: F401

    assert hub.testing.CONTRACT_SUITE_VERSION == hub.testing.__version__
