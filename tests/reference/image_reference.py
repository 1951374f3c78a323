"""Pillow's view of an image, as Hugging Face's ViTImageProcessor prepares it: the independent reference for
tests/unit/data/images. Prints one JSON object.

  image_reference.py decode PATH
      the image upright (EXIF orientation applied, as transformers' load_image does) and as RGB
  image_reference.py resize PATH WIDTH HEIGHT [bilinear|bicubic]
      the same, then Image.resize((WIDTH, HEIGHT), filter) with reducing_gap=None, as transformers calls it
  image_reference.py normalize PATH WIDTH HEIGHT RESCALE MEAN_R,MEAN_G,MEAN_B STD_R,STD_G,STD_B [filter]
      the resized bytes and (x * RESCALE - mean[c]) / std[c] in float64, channels first [3, H, W]

Bytes are base64: "rgb" holds height*width*3 uint8 values (rows, then pixels, then R, G, B); "chw" holds
float64 little-endian values.
"""
import base64
import json
import sys

import numpy as np
from PIL import Image, ImageOps

FILTERS = {"bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC}


def upright_rgb(path):
    with Image.open(path) as image:
        return ImageOps.exif_transpose(image).convert("RGB")


def encode(array):
    return base64.b64encode(np.ascontiguousarray(array).tobytes()).decode("ascii")


def resized(path, width, height, name):
    return upright_rgb(path).resize((width, height), FILTERS[name], reducing_gap=None)


def main(argv):
    mode, path = argv[1], argv[2]
    if mode == "decode":
        image = upright_rgb(path)
    elif mode == "resize":
        image = resized(path, int(argv[3]), int(argv[4]), argv[5] if len(argv) > 5 else "bilinear")
    elif mode == "normalize":
        image = resized(path, int(argv[3]), int(argv[4]), argv[8] if len(argv) > 8 else "bilinear")
    else:
        raise SystemExit(f"unknown mode {mode!r}; use decode, resize or normalize")
    rgb = np.asarray(image, dtype=np.uint8)
    result = {"width": image.width, "height": image.height, "rgb": encode(rgb)}
    if mode == "normalize":
        rescale = float(argv[5])
        mean = np.array([float(v) for v in argv[6].split(",")], dtype=np.float64)
        std = np.array([float(v) for v in argv[7].split(",")], dtype=np.float64)
        chw = ((rgb.astype(np.float64) * rescale - mean) / std).transpose(2, 0, 1)
        result["chw"] = encode(chw.astype("<f8"))
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv)
