from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..models.hook_name import HookName

T = TypeVar("T", bound="HookTest")


@_attrs_define
class HookTest:
    """`POST /hook-processes`: which configured command to run as a test.

    Attributes:
        hook (HookName): Which configured command.
    """

    hook: HookName

    def to_dict(self) -> dict[str, Any]:
        hook = self.hook.value

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "hook": hook,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        hook = HookName(d.pop("hook"))

        hook_test = cls(
            hook=hook,
        )

        return hook_test
