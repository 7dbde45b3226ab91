"""The TF Serving client side: models.config, the REST body (columnar form) and the README command."""

import json
import os

import numpy as np
import tensorflow as tf

from tests.support.cli import REPO, load_script
from tests.support.runs import call_signature
from tests.support.videos import contexts




def test_models_config_is_a_valid_model_server_config():
    from google.protobuf import text_format
    from tensorflow_serving.config import model_server_config_pb2
    with open(os.path.join(REPO, "export", "models.config")) as handle:
        config = text_format.Parse(handle.read(), model_server_config_pb2.ModelServerConfig())
    (model,) = config.model_config_list.config
    assert model.name == "srvp" and model.model_platform == "tensorflow" and os.path.isabs(model.base_path)


def test_rest_body_is_columnar_and_serves_the_same_frames(loaded_saved_model, tmp_path, capsys):
    """What TF Serving's REST handler does with the body: each `inputs` entry becomes the tensor of the
    signature input of that name."""
    script = load_script("rest_request")
    context = contexts(2, 3)
    np.save(tmp_path / "context.npy", context)
    assert script.main([f"--context={tmp_path / 'context.npy'}", "--num_samples=2", "--dt=0.5", "--horizon=2",
                        "--seed=3"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["signature_name"] == "serving_default" and "instances" not in body
    assert set(body["inputs"]) == {"context", "num_samples", "dt", "horizon", "seed"}
    assert body["inputs"]["num_samples"] == 2 and body["inputs"]["dt"] == 0.5
    signature = loaded_saved_model.signatures[body["signature_name"]]
    specs = signature.structured_input_signature[1]
    served = signature(**{name: tf.constant(value, specs[name].dtype) for name, value in body["inputs"].items()})
    np.testing.assert_allclose(served["frames"].numpy(), call_signature(signature, context, 2, 2, 0.5, 3), atol=0)


def test_readme_documents_the_server_command():
    with open(os.path.join(REPO, "export", "README.md")) as handle:
        text = handle.read()
    assert "tensorflow_model_server --model_config_file=export/models.config --port=8500 --rest_api_port=8501" in text
    assert "python -m tfvideo.export --workdir=" in text and "python -m tfvideo.export.benchmark" in text
