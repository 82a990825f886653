from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.backup_set import BackupSet
    from ..models.imported_folder import ImportedFolder


T = TypeVar("T", bound="ImportOutcome")


@_attrs_define
class ImportOutcome:
    """The result of an import.

    Attributes:
        created (bool): False when the folder was already registered with this backup.
        imported (ImportedFolder): A folder registered by import.
        set_ (BackupSet | None | Unset):
    """

    created: bool
    imported: ImportedFolder
    set_: BackupSet | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.backup_set import BackupSet  # noqa: PLC0415

        created = self.created

        imported = self.imported.to_dict()

        set_: dict[str, Any] | None | Unset
        if isinstance(self.set_, Unset):
            set_ = UNSET
        elif isinstance(self.set_, BackupSet):
            set_ = self.set_.to_dict()
        else:
            set_ = self.set_

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "created": created,
                "imported": imported,
            }
        )
        if set_ is not UNSET:
            field_dict["set"] = set_

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.backup_set import BackupSet  # noqa: PLC0415
        from ..models.imported_folder import ImportedFolder  # noqa: PLC0415

        d = dict(src_dict)
        created = d.pop("created")

        imported = ImportedFolder.from_dict(d.pop("imported"))

        def _parse_set_(data: object) -> BackupSet | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                set_type_1 = BackupSet.from_dict(data)

                return set_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(BackupSet | None | Unset, data)

        set_ = _parse_set_(d.pop("set", UNSET))

        import_outcome = cls(
            created=created,
            imported=imported,
            set_=set_,
        )

        import_outcome.additional_properties = d
        return import_outcome

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
