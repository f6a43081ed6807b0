"""Benchmarks: the engine against the official RealESRGANer, ncnn and onnxruntime (`python -m bench`)."""
