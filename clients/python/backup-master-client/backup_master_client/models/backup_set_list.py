from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.backup_set import BackupSet
    from ..models.component_problem import ComponentProblem
    from ..models.set_folder import SetFolder


T = TypeVar("T", bound="BackupSetList")


@_attrs_define
class BackupSetList:
    """Backup sets on disk, newest first.

    Attributes:
        items (list[BackupSet]):
        unidentified (list[SetFolder]): Slot folders whose backup ID cannot be read (no `readme.txt`, or one without a
            usable
            `Backup ID:` line); `problem` says why. Not filtered by the query.
        problems (list[ComponentProblem] | Unset): Components whose folders could not be listed now (a remote component
            whose agent did
            not answer or refused): the sets lack their folders, and `problem` says why.
    """

    items: list[BackupSet]
    unidentified: list[SetFolder]
    problems: list[ComponentProblem] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        items = []
        for items_item_data in self.items:
            items_item = items_item_data.to_dict()
            items.append(items_item)

        unidentified = []
        for unidentified_item_data in self.unidentified:
            unidentified_item = unidentified_item_data.to_dict()
            unidentified.append(unidentified_item)

        problems: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.problems, Unset):
            problems = []
            for problems_item_data in self.problems:
                problems_item = problems_item_data.to_dict()
                problems.append(problems_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "items": items,
                "unidentified": unidentified,
            }
        )
        if problems is not UNSET:
            field_dict["problems"] = problems

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.backup_set import BackupSet  # noqa: PLC0415
        from ..models.component_problem import ComponentProblem  # noqa: PLC0415
        from ..models.set_folder import SetFolder  # noqa: PLC0415

        d = dict(src_dict)
        items = []
        _items = d.pop("items")
        for items_item_data in _items:
            items_item = BackupSet.from_dict(items_item_data)

            items.append(items_item)

        unidentified = []
        _unidentified = d.pop("unidentified")
        for unidentified_item_data in _unidentified:
            unidentified_item = SetFolder.from_dict(unidentified_item_data)

            unidentified.append(unidentified_item)

        _problems = d.pop("problems", UNSET)
        problems: list[ComponentProblem] | Unset = UNSET
        if _problems is not UNSET:
            problems = []
            for problems_item_data in _problems:
                problems_item = ComponentProblem.from_dict(problems_item_data)

                problems.append(problems_item)

        backup_set_list = cls(
            items=items,
            unidentified=unidentified,
            problems=problems,
        )

        backup_set_list.additional_properties = d
        return backup_set_list

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
