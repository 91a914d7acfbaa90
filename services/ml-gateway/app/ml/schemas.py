"""Wire formats of the model API (and the JSON the Celery task returns)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ModelKind = Literal["classifier", "regressor"]
ModelSource = Literal["builtin", "file"]
#: A predicted value: a class label (int or str) or a regression output (float).
Label = int | float | str
#: A JSON number; strings, booleans, null, NaN and +-Infinity are rejected.
FiniteNumber = Annotated[float, Field(strict=True, allow_inf_nan=False)]
#: Hard ceiling on the number of instances the request model accepts; the configured
#: MAX_BATCH (<= this) is enforced per request with an explicit message.
HARD_MAX_BATCH = 100_000


class FeatureSpec(BaseModel):
    name: str
    type: Literal["number"] = "number"


class InputSchema(BaseModel):
    features: list[FeatureSpec]
    count: int = Field(description="Number of features every instance must have.")


class OutputSpec(BaseModel):
    description: str
    classes: list[Label] | None = Field(
        default=None,
        description=(
            "Classifiers only: the labels a prediction can take, in the order of the "
            "columns of `probabilities`."
        ),
    )


class ModelInfo(BaseModel):
    name: str
    version: str
    kind: ModelKind
    source: ModelSource = Field(
        description="`builtin` (trained at start-up) or `file` (loaded from MODEL_DIR)."
    )
    input_schema: InputSchema
    output: OutputSpec
    metrics: dict[str, float | int] = Field(
        description=(
            "Held-out evaluation: `accuracy` for classifiers, `r2` (and `mae`) for "
            "regressors, plus the train/test sizes; empty when unknown."
        )
    )


class ModelList(BaseModel):
    data: list[ModelInfo]


class PredictRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"instances": [[5.1, 3.5, 1.4, 0.2]]}]},
    )

    instances: Annotated[
        list[list[FiniteNumber]],
        Field(
            min_length=1,
            max_length=HARD_MAX_BATCH,
            description=(
                "Rows to predict, each a list of finite numbers in the order of the model's "
                "`input_schema.features`; at most MAX_BATCH (default 1000) rows."
            ),
        ),
    ]


class PredictResponse(BaseModel):
    model: str
    version: str
    predictions: list[Label]
    probabilities: list[list[float]] | None = Field(
        default=None,
        description=(
            "Classifiers with probability estimates: one row per instance, one column per "
            "entry of the model's `output.classes`; null otherwise."
        ),
    )


class BatchItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: Annotated[str, Field(min_length=1, max_length=200)]
    instances: Any = Field(
        description=(
            "Rows for this item, as in `PredictRequest.instances`; checked per item, so a bad "
            "item fails alone."
        )
    )


class BatchPredictRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {"model": "iris", "instances": [[5.1, 3.5, 1.4, 0.2]]},
                        {"model": "iris", "instances": [[6.7, 3.0, 5.2, 2.3]]},
                    ]
                }
            ]
        },
    )

    items: Annotated[
        list[BatchItem],
        Field(
            min_length=1,
            max_length=HARD_MAX_BATCH,
            description="Predictions to make, at most MAX_BATCH_ITEMS (default 256).",
        ),
    ]


class ItemInputError(BaseModel):
    loc: list[int] = Field(description="Location in the item's `instances`, as in a 422.")
    msg: str
    type: str


class ItemError(BaseModel):
    status: Literal[404, 422, 500] = Field(
        description="The HTTP status this item would have had as a single request."
    )
    code: Literal["unknown_model", "invalid_input", "internal_error"]
    message: str
    errors: list[ItemInputError] = Field(default_factory=list)


class BatchItemResult(BaseModel):
    ok: bool
    model: str
    version: str | None = None
    predictions: list[Label] | None = None
    probabilities: list[list[float]] | None = None
    error: ItemError | None = None


class BatchPredictResponse(BaseModel):
    results: list[BatchItemResult] = Field(description="One per item, in the items' order.")


class HealthStatus(BaseModel):
    status: Literal["ok", "ready", "not ready"]
    models: int | None = None
