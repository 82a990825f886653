from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="FolderVerification")


@_attrs_define
class FolderVerification:
    """The check of one folder.

    Attributes:
        changed (list[str]): Listed files whose SHA-256 differs, or that are no longer regular files. Example:
            ['accountreg/accounts.dat'].
        component (str):  Example: hub.
        folder (str):
        missing (list[str]): Listed files that are gone.
        ok (bool): Nothing changed, missing, unlisted or unreadable, and no error.
        unlisted (list[str]): Files present but not in `SHA256SUMS` (symbolic links and empty folders are never
            listed and not reported).
        bytes_checked (int | Unset):
        error (None | str | Unset): A problem with the folder as a whole: gone, no `SHA256SUMS`, malformed lines.
        files_checked (int | Unset):
        omitted (int | Unset): Names left out of the lists (each is capped at 1000).
        unreadable (list[str] | Unset): `path: error` for what could not be read.
    """

    changed: list[str]
    component: str
    folder: str
    missing: list[str]
    ok: bool
    unlisted: list[str]
    bytes_checked: int | Unset = UNSET
    error: None | str | Unset = UNSET
    files_checked: int | Unset = UNSET
    omitted: int | Unset = UNSET
    unreadable: list[str] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        changed = self.changed

        component = self.component

        folder = self.folder

        missing = self.missing

        ok = self.ok

        unlisted = self.unlisted

        bytes_checked = self.bytes_checked

        error: None | str | Unset
        if isinstance(self.error, Unset):
            error = UNSET
        else:
            error = self.error

        files_checked = self.files_checked

        omitted = self.omitted

        unreadable: list[str] | Unset = UNSET
        if not isinstance(self.unreadable, Unset):
            unreadable = self.unreadable

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "changed": changed,
                "component": component,
                "folder": folder,
                "missing": missing,
                "ok": ok,
                "unlisted": unlisted,
            }
        )
        if bytes_checked is not UNSET:
            field_dict["bytes_checked"] = bytes_checked
        if error is not UNSET:
            field_dict["error"] = error
        if files_checked is not UNSET:
            field_dict["files_checked"] = files_checked
        if omitted is not UNSET:
            field_dict["omitted"] = omitted
        if unreadable is not UNSET:
            field_dict["unreadable"] = unreadable

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        changed = cast(list[str], d.pop("changed"))

        component = d.pop("component")

        folder = d.pop("folder")

        missing = cast(list[str], d.pop("missing"))

        ok = d.pop("ok")

        unlisted = cast(list[str], d.pop("unlisted"))

        bytes_checked = d.pop("bytes_checked", UNSET)

        def _parse_error(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        error = _parse_error(d.pop("error", UNSET))

        files_checked = d.pop("files_checked", UNSET)

        omitted = d.pop("omitted", UNSET)

        unreadable = cast(list[str], d.pop("unreadable", UNSET))

        folder_verification = cls(
            changed=changed,
            component=component,
            folder=folder,
            missing=missing,
            ok=ok,
            unlisted=unlisted,
            bytes_checked=bytes_checked,
            error=error,
            files_checked=files_checked,
            omitted=omitted,
            unreadable=unreadable,
        )

        folder_verification.additional_properties = d
        return folder_verification

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
