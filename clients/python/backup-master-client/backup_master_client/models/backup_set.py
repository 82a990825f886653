from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.set_folder import SetFolder
    from ..models.verification_summary import VerificationSummary


T = TypeVar("T", bound="BackupSet")


@_attrs_define
class BackupSet:
    """A backup set: the folders of all components that share one backup ID.

    Attributes:
        complete (bool): Every configured component has a folder with this ID, and it is not `committing`.
        components (list[SetFolder]): The folders, in config order of their components; a slot before an imported copy.
        id (str):  Example: 20261126T020000Z.
        missing (list[str]): Configured components without a folder of this set.
        successful (bool): Complete, and every folder says `Result: success` and has no problem.
        committing (bool | Unset): The backup's commit is decided but not yet acknowledged by every component: the
            master is completing it (the backup is `running`). Not complete until then.
        last_verification (None | Unset | VerificationSummary):
    """

    complete: bool
    components: list[SetFolder]
    id: str
    missing: list[str]
    successful: bool
    committing: bool | Unset = UNSET
    last_verification: None | Unset | VerificationSummary = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.verification_summary import VerificationSummary  # noqa: PLC0415

        complete = self.complete

        components = []
        for components_item_data in self.components:
            components_item = components_item_data.to_dict()
            components.append(components_item)

        id = self.id

        missing = self.missing

        successful = self.successful

        committing = self.committing

        last_verification: dict[str, Any] | None | Unset
        if isinstance(self.last_verification, Unset):
            last_verification = UNSET
        elif isinstance(self.last_verification, VerificationSummary):
            last_verification = self.last_verification.to_dict()
        else:
            last_verification = self.last_verification

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "complete": complete,
                "components": components,
                "id": id,
                "missing": missing,
                "successful": successful,
            }
        )
        if committing is not UNSET:
            field_dict["committing"] = committing
        if last_verification is not UNSET:
            field_dict["last_verification"] = last_verification

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.set_folder import SetFolder  # noqa: PLC0415
        from ..models.verification_summary import VerificationSummary  # noqa: PLC0415

        d = dict(src_dict)
        complete = d.pop("complete")

        components = []
        _components = d.pop("components")
        for components_item_data in _components:
            components_item = SetFolder.from_dict(components_item_data)

            components.append(components_item)

        id = d.pop("id")

        missing = cast(list[str], d.pop("missing"))

        successful = d.pop("successful")

        committing = d.pop("committing", UNSET)

        def _parse_last_verification(data: object) -> None | Unset | VerificationSummary:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                last_verification_type_1 = VerificationSummary.from_dict(data)

                return last_verification_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Unset | VerificationSummary, data)

        last_verification = _parse_last_verification(d.pop("last_verification", UNSET))

        backup_set = cls(
            complete=complete,
            components=components,
            id=id,
            missing=missing,
            successful=successful,
            committing=committing,
            last_verification=last_verification,
        )

        backup_set.additional_properties = d
        return backup_set

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
