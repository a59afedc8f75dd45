"""The base every spec model shares: frozen, unknown fields forbidden, defaults validated."""

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)
