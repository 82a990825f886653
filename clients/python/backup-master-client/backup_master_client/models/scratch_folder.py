from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="ScratchFolder")


@_attrs_define
class ScratchFolder:
    """A scratch folder of a drill as its record keeps it.

    Attributes:
        path (str): `<drill_root>/<ID>`. Example: /srv/maestro/lui/drills/D20261201T040000Z.
        removed (bool): The folder was removed (or never made).
        device (int | None | Unset): Device and inode of the folder once made (absent until it is).
        inode (int | None | Unset):
        made_dirs (list[str] | Unset): Folders of the drill root the drill created for it (outermost first), removed
            with
            the scratch folder when they are empty then.
    """

    path: str
    removed: bool
    device: int | None | Unset = UNSET
    inode: int | None | Unset = UNSET
    made_dirs: list[str] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        path = self.path

        removed = self.removed

        device: int | None | Unset
        if isinstance(self.device, Unset):
            device = UNSET
        else:
            device = self.device

        inode: int | None | Unset
        if isinstance(self.inode, Unset):
            inode = UNSET
        else:
            inode = self.inode

        made_dirs: list[str] | Unset = UNSET
        if not isinstance(self.made_dirs, Unset):
            made_dirs = self.made_dirs

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "path": path,
                "removed": removed,
            }
        )
        if device is not UNSET:
            field_dict["device"] = device
        if inode is not UNSET:
            field_dict["inode"] = inode
        if made_dirs is not UNSET:
            field_dict["made_dirs"] = made_dirs

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        path = d.pop("path")

        removed = d.pop("removed")

        def _parse_device(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        device = _parse_device(d.pop("device", UNSET))

        def _parse_inode(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        inode = _parse_inode(d.pop("inode", UNSET))

        made_dirs = cast(list[str], d.pop("made_dirs", UNSET))

        scratch_folder = cls(
            path=path,
            removed=removed,
            device=device,
            inode=inode,
            made_dirs=made_dirs,
        )

        scratch_folder.additional_properties = d
        return scratch_folder

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
