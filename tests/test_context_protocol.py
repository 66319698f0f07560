"""``hub.types.Context`` / ``Http`` / ``Cache`` are what a plugin may rely on; the hub's own ``ctx`` must
offer all of it, with the same call signatures."""

import inspect

from hub import types
from hub.context import RedisCache
from hub.testing import make_context


def _public_methods(protocol: type) -> dict[str, inspect.Signature]:
    return {name: inspect.signature(member) for name, member in vars(protocol).items()
            if callable(member) and not name.startswith("_")}


def _params(signature: inspect.Signature) -> list[tuple[str, object]]:
    return [(p.name, p.kind) for p in signature.parameters.values()]


def test_the_hubs_ctx_is_a_context() -> None:
    ctx = make_context("example")
    assert isinstance(ctx, types.Context)
    for name in types.Context.__annotations__:
        assert hasattr(ctx, name), name


def test_implementations_match_the_protocols_signatures() -> None:
    ctx = make_context("example")
    for protocol, implementations in ((types.Http, [ctx.http]), (types.Cache, [ctx.cache, RedisCache]),
                                      (types.Context, [ctx])):
        for name, signature in _public_methods(protocol).items():
            for impl in implementations:
                member = getattr(impl, name, None)
                assert callable(member), f"{impl!r} lacks {name}"
                if name in ("now", "sleep"):  # attributes holding a function (tests replace them)
                    continue
                expected = _params(signature)[1:]  # without self
                got = _params(inspect.signature(member))
                assert (got[1:] if isinstance(impl, type) else got) == expected, (impl, name)
