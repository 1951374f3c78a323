"""Write the image-classification fixtures of tests/fixtures/data/images from real images that ship with
scikit-learn (offline): the handwritten digits of load_digits() and the two sample photos of
load_sample_images() (china.jpg, flower.jpg; CC BY 2.0, see the README written beside the fixtures).

Run with Debian's Python (numpy, Pillow, scikit-learn):  /usr/bin/python3 tests/reference/make_image_fixtures.py
Every output is deterministic, so a rerun changes nothing unless this script or those libraries change.
"""
import io
import os
import shutil

import numpy as np
import sklearn.datasets
from PIL import Image
from sklearn.datasets import load_digits

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "data", "images")
SAMPLE_IMAGES = os.path.join(os.path.dirname(sklearn.datasets.__file__), "images")


def out(*parts):
    path = os.path.join(ROOT, *parts)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return path


def digit(index):
    """Digit `index` of load_digits() (8×8, values 0..16) as an 8-bit greyscale image of MNIST's 28×28."""
    digits = load_digits()
    pixels = np.round(digits.images[index] * 255 / 16).astype(np.uint8)
    return Image.fromarray(pixels, "L").resize((28, 28), Image.BILINEAR), int(digits.target[index])


def digits_of(label, count):
    """The first `count` digits of a class, in dataset order."""
    found = [i for i, t in enumerate(load_digits().target) if t == label]
    return [digit(i)[0] for i in found[:count]]


def main():
    if os.path.isdir(ROOT):
        for name in os.listdir(ROOT):
            if name != "README.md":
                path = os.path.join(ROOT, name)
                shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)

    # A clean folder of class folders: digits 0, 1, 2, one PNG, one JPEG and one WebP each.
    csv_rows = []
    for label in (0, 1, 2):
        a, b, c = digits_of(label, 3)
        a.save(out("digits", str(label), f"{label}-a.png"))
        b.save(out("digits", str(label), f"{label}-b.jpg"), quality=90)
        c.save(out("digits", str(label), f"{label}-c.webp"), quality=90)
        csv_rows += [(f"digits/{label}/{label}-{s}", str(label)) for s in ("a.png", "b.jpg", "c.webp")]
    # The same dataset as a CSV of path,label (paths relative to the CSV's folder).
    with open(out("digits.csv"), "w", newline="") as handle:
        handle.write("path,label\n" + "".join(f"{p},{l}\n" for p, l in csv_rows))

    # A folder with every problem a folder dataset can have.
    zeros = digits_of(0, 5)
    zeros[3].save(out("broken", "0", "0-a.png"))
    zeros[4].save(out("broken", "0", "0-b.png"))
    shutil.copyfile(out("broken", "0", "0-a.png"), out("broken", "0", "copy-of-0-a.png"))
    jpeg = io.BytesIO()
    zeros[3].save(jpeg, "JPEG", quality=90)
    with open(out("broken", "0", "truncated.jpg"), "wb") as handle:
        handle.write(jpeg.getvalue()[: len(jpeg.getvalue()) * 2 // 3])
    with open(out("broken", "0", "not-an-image.png"), "w") as handle:
        handle.write("This is a text file that was given an image's name.\n")
    frames = [zeros[3].convert("P"), zeros[4].convert("P")]
    frames[0].save(out("broken", "0", "animation.jpg"), format="GIF", save_all=True, append_images=frames[1:], duration=100)
    zeros[4].save(out("broken", "0", "scan.png"), format="TIFF")
    zeros[3].resize((4, 4), Image.BILINEAR).save(out("broken", "0", "tiny.png"))
    with open(out("broken", "0", "readme.txt"), "w") as handle:
        handle.write("notes about class 0\n")
    zeros[4].save(out("broken", "0", ".hidden.png"))
    for i, image in enumerate(digits_of(1, 2)):
        image.save(out("broken", "1", f"1-{'ab'[i]}.png"))
    digits_of(2, 1)[0].save(out("broken", "2", "2-a.png"))
    # Git keeps no empty folder; the hidden file is ignored by the reader, so the class folder is empty to it.
    open(out("broken", "empty", ".gitkeep"), "w").close()
    with open(out("broken", "notes.txt"), "w") as handle:
        handle.write("how this dataset was collected\n")

    # A CSV with every problem a CSV row can have; the expected row numbers are in the tests.
    with open(out("misc", "drawing.svg"), "w") as handle:
        handle.write('<svg xmlns="http://www.w3.org/2000/svg" width="32" height="32"><rect width="32" height="32" fill="red"/></svg>\n')
    broken_rows = [
        ("digits/0/0-a.png", "0"),  # row 2: fine
        ("digits/1/missing.png", "1"),  # row 3: no such file
        ("broken/0/truncated.jpg", "0"),  # row 4: cut short
        ("", "1"),  # row 5: no path
        ("digits/1/1-a.png", ""),  # row 6: no label
        ("misc/drawing.svg", "2"),  # row 7: SVG
        ("digits/2/2-a.png", "2"),  # row 8: fine
        ("digits/0/0-a.png", "0"),  # row 9: the image of row 2 again
        ("digits/1/1-b.jpg", "1"),  # row 10: fine
    ]
    with open(out("broken.csv"), "w", newline="") as handle:
        handle.write("path,label\n" + "".join(f"{p},{l}\n" for p, l in broken_rows))

    # Colour modes and orientation, from a crop of a real photo.
    china = Image.open(os.path.join(SAMPLE_IMAGES, "china.jpg")).convert("RGB")
    patch = china.crop((300, 150, 340, 180))  # 40×30
    alpha = np.tile(np.linspace(0, 255, 40).astype(np.uint8), (30, 1))
    rgba = patch.copy()
    rgba.putalpha(Image.fromarray(alpha, "L"))
    rgba.save(out("modes", "rgba.png"))
    patch.convert("L").save(out("modes", "grey.png"))
    patch.convert("LA").save(out("modes", "grey-alpha.png"))
    patch.save(out("modes", "photo.webp"), quality=90)
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: the camera was turned; show the picture rotated 90° clockwise.
    patch.save(out("modes", "rotated.jpg"), quality=90, exif=exif.tobytes())

    # Real photos for resizing: a 500×375 JPEG crop (not re-encoded from a PNG) and a small lossless PNG.
    china.crop((70, 26, 570, 401)).save(out("photo.jpg"), quality=85)
    flower = Image.open(os.path.join(SAMPLE_IMAGES, "flower.jpg")).convert("RGB")
    flower.crop((200, 100, 360, 220)).save(out("flower.png"))
    # One raw digit at its original 8×8, for enlarging.
    Image.fromarray(np.round(load_digits().images[0] * 255 / 16).astype(np.uint8), "L").save(out("digit-8x8.png"))


if __name__ == "__main__":
    main()
