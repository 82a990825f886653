from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.folder_time import FolderTime
    from ..models.owned_entry import OwnedEntry


T = TypeVar("T", bound="UndoPlan")


@_attrs_define
class UndoPlan:
    """The part of an undo's component plan that comes from the restore it undoes.

    Attributes:
        folder_times (list[FolderTime]): The home folders' modification times before the undone restore; set again once
            the
            undo succeeded.
        remove (list[str]): Paths the undone restore copied into or created in the home: moved aside by the undo
            (when present) before the originals are copied back.
        sources (list[OwnedEntry]): Each entry of the undone restore's safety folder the undo copies back (its path
            there
            and the identity the undone restore recorded when it moved it aside): copied only while
            it is still that entry.
    """

    folder_times: list[FolderTime]
    remove: list[str]
    sources: list[OwnedEntry]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        folder_times = []
        for folder_times_item_data in self.folder_times:
            folder_times_item = folder_times_item_data.to_dict()
            folder_times.append(folder_times_item)

        remove = self.remove

        sources = []
        for sources_item_data in self.sources:
            sources_item = sources_item_data.to_dict()
            sources.append(sources_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "folder_times": folder_times,
                "remove": remove,
                "sources": sources,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.folder_time import FolderTime  # noqa: PLC0415
        from ..models.owned_entry import OwnedEntry  # noqa: PLC0415

        d = dict(src_dict)
        folder_times = []
        _folder_times = d.pop("folder_times")
        for folder_times_item_data in _folder_times:
            folder_times_item = FolderTime.from_dict(folder_times_item_data)

            folder_times.append(folder_times_item)

        remove = cast(list[str], d.pop("remove"))

        sources = []
        _sources = d.pop("sources")
        for sources_item_data in _sources:
            sources_item = OwnedEntry.from_dict(sources_item_data)

            sources.append(sources_item)

        undo_plan = cls(
            folder_times=folder_times,
            remove=remove,
            sources=sources,
        )

        undo_plan.additional_properties = d
        return undo_plan

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
