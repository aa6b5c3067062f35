"""Resolving what the literal reader left as references: the page's variables substituted, memoised.

Minified libraries chain thousands of variables through conditionals (``a=b?c:d, c=e?f:g, ...``).
Resolving each reference afresh makes the work grow with the number of paths through that graph,
exponentially; here every name is resolved once per environment and reused, a name met again while it
is being resolved stays a reference (cycles), and every value visited is charged to the page's
``WorkBudget``, so the total work is bounded whatever the scripts hold.
"""

from __future__ import annotations

from collections.abc import Mapping

from audiofetch.extractors._budget import current_budget
from audiofetch.extractors._jscursor import MAX_DEPTH
from audiofetch.extractors._jsscan import find_assignments
from audiofetch.extractors._jsvalue import Choice, Concat, JsValue, Opaque, Ref, choice, fold, is_primitive

__all__ = ["Resolver", "resolve", "string_variables", "strings_of"]

_MISSING = Opaque("<missing>")
_LOOKUP_DEPTH = 8  # nesting levels one reference lookup counts for (at most MAX_DEPTH / 8 nested lookups)


class Resolver:
    """Resolves values against one environment, each environment entry at most once.

    ``env`` keys are canonical ref spellings: a root name (``"mediaPath"``, ``"data"``) or a prefix
    with computed indexes (``"tracks[*]"``, to bind one playlist item); the rest of a path is walked
    through the bound value. ``settled``: the entries are already resolved (as ``page_variables``
    gives them), so only leftover references among them are resolved again. ``bound`` entries (one
    playlist item at ``"tracks[*]"``) come before ``env``'s and are taken as they are.
    """

    __slots__ = ("_active", "_memo", "_work", "bound", "env", "settled")

    def __init__(
        self,
        env: Mapping[str, JsValue],
        *,
        settled: bool = False,
        bound: Mapping[str, JsValue] | None = None,
    ) -> None:
        self.env = env
        self.settled = settled
        self.bound = bound or {}
        self._memo: dict[str, JsValue] = {}
        self._active: set[str] = set()
        self._work = current_budget()

    def resolve(self, value: JsValue, depth: int = 0) -> JsValue:
        """``value`` with references found in the environment substituted, concatenations folded."""
        self._work.charge()
        if depth > MAX_DEPTH:
            return value
        if isinstance(value, Ref):
            return self._lookup(value, depth)
        if isinstance(value, Concat):
            return fold([self.resolve(part, depth + 1) for part in value.parts])
        if isinstance(value, Choice):
            return choice([self.resolve(option, depth + 1) for option in value.options])
        if isinstance(value, list):
            return [self.resolve(item, depth + 1) for item in value]
        if isinstance(value, dict):
            return {key: self.resolve(item, depth + 1) for key, item in value.items()}
        return value

    def entry(self, key: str, depth: int = 0) -> JsValue:
        """The environment entry ``key`` resolved (once). KeyError if absent; ``_MISSING`` while ``key``
        is being resolved (a cycle: the reference that met it stays a reference)."""
        if key in self._memo:
            return self._memo[key]
        if key in self._active:
            return _MISSING
        raw = self.env[key]
        if self.settled and not isinstance(raw, Ref | Concat | Choice):
            return raw
        self._active.add(key)
        try:
            value = self.resolve(raw, depth + _LOOKUP_DEPTH)
        finally:
            self._active.discard(key)
        self._memo[key] = value
        return value

    def _lookup(self, ref: Ref, depth: int) -> JsValue:
        for cut in range(len(ref.path), 0, -1):
            prefix = Ref(ref.path[:cut]).text
            if prefix in self.bound:
                current = self.bound[prefix]
            elif prefix in self.env:
                current = self.entry(prefix, depth)
            else:
                continue
            if current is _MISSING:
                return ref
            for part in ref.path[cut:]:
                self._work.charge()
                current = _member(current, part)
                if current is _MISSING:
                    return ref
            if isinstance(current, Ref):
                # A reference to a name that is itself unresolved (or a cycle): resolve what it names.
                return ref if current == ref else self.resolve(current, depth + _LOOKUP_DEPTH)
            return current
        return ref


def _member(value: JsValue, part: str | int | None) -> JsValue:
    """``value[part]`` for plain data, or ``_MISSING``."""
    if isinstance(value, dict) and isinstance(part, str):
        return value.get(part, _MISSING)
    if isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value):
        return value[part]
    return _MISSING


def resolve(value: JsValue, env: Mapping[str, JsValue], *, settled: bool = False) -> JsValue:
    """``value`` with references found in ``env`` substituted, concatenations folded (see ``Resolver``).

    Unresolvable parts stay as they are. Raises ``OutOfWork`` when the page's budget is spent.
    """
    return Resolver(env, settled=settled).resolve(value)


def string_variables(script: str) -> dict[str, str]:
    """Variables whose value is a string, earlier strings and numbers substituted (``base + n + '/'``)."""
    return strings_of(find_assignments(script))


def strings_of(assignments: Mapping[str, JsValue]) -> dict[str, str]:
    """The string values among ``assignments`` (as ``find_assignments`` returns), resolved in order."""
    known: dict[str, JsValue] = {}
    for name, value in assignments.items():
        resolved = resolve(value, known, settled=True)
        if is_primitive(resolved):
            known[name] = resolved
    return {name: value for name, value in known.items() if isinstance(value, str)}
