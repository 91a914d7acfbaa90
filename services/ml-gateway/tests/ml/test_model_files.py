"""Model files cannot run code: pickles and skops files with untrusted types are refused at
start-up, and the code they carry never runs."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import skops.io as sio
from fastapi.testclient import TestClient
from sklearn.linear_model import LinearRegression

from app.main import create_app
from app.ml.registry import ModelFileRefusedError, ModelRegistry, load_model_dir
from tests.helpers import SERVICE_DIR, make_settings

START_TIMEOUT = 60.0


class TouchOnUnpickle:
    """Unpickling this calls `exec`, which creates `marker`: what an attacker would plant."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (exec, (f"open({str(self.marker)!r}, 'w').close()",))


class TouchOnRestore:
    """A skops-serialisable object whose restoring (`__setstate__`) creates `marker`."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __setstate__(self, state: dict[str, Any]) -> None:
        Path(state["marker"]).touch()
        self.__dict__.update(state)


def armed_pickle(marker: Path) -> bytes:
    """The crafted pickle, checked to be live: loading it really creates a marker file."""
    probe = marker.with_name(marker.name + ".probe")
    payload = pickle.dumps({"estimator": TouchOnUnpickle(probe), "version": "1"})
    pickle.loads(payload)  # noqa: S301 - proves the file would run code
    assert probe.exists(), "the crafted pickle did not run its code"
    probe.unlink()
    return pickle.dumps({"estimator": TouchOnUnpickle(marker), "version": "1"})


def armed_skops(marker: Path) -> bytes:
    """A skops file holding an untrusted type, checked to run code when that type is trusted."""
    probe = marker.with_name(marker.name + ".probe")
    payload = sio.dumps({"estimator": TouchOnRestore(probe), "version": "1"})
    [untrusted] = sio.get_untrusted_types(data=payload)
    sio.loads(payload, trusted=[untrusted])
    assert probe.exists(), "the crafted skops file did not run its code"
    probe.unlink()
    crafted: bytes = sio.dumps({"estimator": TouchOnRestore(marker), "version": "1"})
    return crafted


def a_good_model(model_dir: Path) -> None:
    sio.dump(
        {
            "estimator": LinearRegression().fit([[0.0], [1.0], [2.0]], [1.0, 3.0, 5.0]),
            "feature_names": ["x"],
            "kind": "regressor",
            "version": "1",
            "description": "2x + 1",
        },
        model_dir / "line.skops",
    )


@pytest.mark.parametrize("file_name", ["evil.joblib", "evil.pkl", "evil.pickle"])
def test_a_pickle_in_model_dir_stops_start_up_unexecuted(tmp_path: Path, file_name: str) -> None:
    marker = tmp_path / "pwned"
    model_dir = tmp_path / "models"
    model_dir.mkdir()
    a_good_model(model_dir)
    (model_dir / file_name).write_bytes(armed_pickle(marker))

    with pytest.raises(ModelFileRefusedError) as caught:
        ModelRegistry.from_settings(make_settings(MODEL_DIR=model_dir))

    message = str(caught.value)
    assert file_name in message
    assert "would be unpickled" in message
    assert not marker.exists()


def test_any_other_file_is_refused(tmp_path: Path) -> None:
    a_good_model(tmp_path)
    (tmp_path / "notes.txt").write_text("not a model")
    with pytest.raises(ModelFileRefusedError, match=r"notes\.txt \(only <name>\.skops"):
        load_model_dir(tmp_path)


def test_a_pickle_named_skops_is_unreadable_not_run(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    marker = tmp_path / "pwned"
    model_dir = tmp_path / "models"
    model_dir.mkdir()
    a_good_model(model_dir)
    (model_dir / "evil.skops").write_bytes(armed_pickle(marker))

    assert [m.name for m in load_model_dir(model_dir)] == ["line"]
    assert not marker.exists()
    assert any("evil.skops: not a skops file" in r.getMessage() for r in caplog.records)


def test_a_skops_file_with_an_untrusted_type_is_refused_unexecuted(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    model_dir = tmp_path / "models"
    model_dir.mkdir()
    (model_dir / "evil.skops").write_bytes(armed_skops(marker))

    with pytest.raises(ModelFileRefusedError) as caught:
        load_model_dir(model_dir)

    assert "TouchOnRestore" in str(caught.value)
    assert "MODEL_TRUSTED_TYPES" in str(caught.value)
    assert not marker.exists()


def test_model_trusted_types_admits_a_type(tmp_path: Path) -> None:
    """The escape hatch works (and is the only one): trusting the type loads the file."""
    marker = tmp_path / "restored"
    (tmp_path / "custom.skops").write_bytes(armed_skops(marker))
    [name] = sio.get_untrusted_types(file=tmp_path / "custom.skops")
    settings = make_settings(
        MODEL_DIR=tmp_path, MODEL_TRUSTED_TYPES=(name,), DISABLE_BUILTIN_MODELS=True
    )
    registry = ModelRegistry.from_settings(settings)  # the payload is no model: skipped
    assert len(registry) == 0
    assert marker.exists()


def test_the_app_does_not_start_with_a_pickle_in_model_dir(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    (tmp_path / "evil.joblib").write_bytes(armed_pickle(marker))
    app = create_app(make_settings(MODEL_DIR=tmp_path, DISABLE_BUILTIN_MODELS=True))
    with pytest.raises(ModelFileRefusedError), TestClient(app):
        pass
    assert not marker.exists()


def test_the_server_process_exits_with_a_clear_error(tmp_path: Path) -> None:
    """The real entry point: uvicorn stops at start-up and says which file and why."""
    marker = tmp_path / "pwned"
    model_dir = tmp_path / "models"
    model_dir.mkdir()
    (model_dir / "evil.joblib").write_bytes(armed_pickle(marker))
    env = {
        **os.environ,
        "MODEL_DIR": str(model_dir),
        "DISABLE_BUILTIN_MODELS": "true",
        "LOG_LEVEL": "INFO",
    }
    uvicorn = Path(sys.executable).with_name("uvicorn")
    completed = subprocess.run(
        [str(uvicorn), "app.main:app", "--host", "127.0.0.1", "--port", "0"],
        cwd=SERVICE_DIR,
        env=env,
        capture_output=True,
        timeout=START_TIMEOUT,
        check=False,
    )
    output = completed.stderr.decode(errors="replace")
    assert completed.returncode != 0, output
    assert "ModelFileRefusedError" in output
    assert "evil.joblib would be unpickled" in output
    assert not marker.exists()
