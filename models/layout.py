"""File names inside a classifier artifact folder (no heavy imports: the CLI reads these to
decide which labeler exists without loading torch)."""

ARTIFACT_FILE = "classifier.json"
ONNX_DIR = "onnx"
FP32_FILE = "model.onnx"
INT8_FILE = "model.int8.onnx"
