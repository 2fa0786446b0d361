"""YAML for untrusted robot files: the safe loader without anchors/aliases (an alias bomb expands a few
KB into 10^9 nodes) and without duplicate keys (the second silently wins otherwise)."""

from __future__ import annotations

from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError


class StrictLoader(yaml.SafeLoader):
    """yaml.SafeLoader that raises a yaml.YAMLError on an anchor, an alias or a duplicate key."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise ComposerError(None, None, "anchors and aliases (&, *) are not allowed", event.start_mark)
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float, bool)):
                continue  # an unhashable key: the base class refuses it
            if key in seen:
                raise ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_strict(text: str) -> Any:
    """``text`` parsed with :class:`StrictLoader`; yaml.YAMLError if it cannot be."""
    return yaml.load(text, Loader=StrictLoader)  # noqa: S506 - a SafeLoader subclass
