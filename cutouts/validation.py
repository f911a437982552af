"""validate(): the cutout form's entry to the checks of cutouts.serializers (which the JSON API uses
directly), so that the web form and the API give the same message per field; and the size helpers the
form, the preview and the objects list share with those checks (defined with them, re-exported here)."""
from cutouts.serializers import (  # noqa: F401 (re-exported)
    AXES, BOSS_NAME, MAX_COORD, WHOLE_NUMBER, CutoutRequestSerializer, SizeRow, field_errors, finest_fitting,
    level_box, scale_box, sizes_by_level,
)


class CutoutInvalid(Exception):
    def __init__(self, errors):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def validate(user, data):
    """Return an unsaved CutoutJob for `user`, or raise CutoutInvalid({field: message})."""
    serializer = CutoutRequestSerializer(data=data, context={"user": user})
    if not serializer.is_valid():
        raise CutoutInvalid(field_errors(serializer.errors))
    return serializer.save()
