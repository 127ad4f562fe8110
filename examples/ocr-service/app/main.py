"""OCR over HTTP: POST an image, get its text back."""

import io
import os

from fastapi import FastAPI, UploadFile
from PIL import Image

MODEL_NAME = os.environ.get("MODEL_NAME", "microsoft/trocr-small-printed")
MODEL_DIR = os.environ.get("MODEL_DIR", "/app/models")

app = FastAPI(title="ocr-service")
_model = None


def model():
    """Load the model once; weights are cached in MODEL_DIR."""
    global _model
    if _model is None:
        from transformers import TrOCRProcessor, VisionEncoderDecoderModel

        processor = TrOCRProcessor.from_pretrained(MODEL_NAME, cache_dir=MODEL_DIR)
        net = VisionEncoderDecoderModel.from_pretrained(MODEL_NAME, cache_dir=MODEL_DIR)
        _model = (processor, net)
    return _model


@app.get("/healthz")
def healthz():
    return {"ok": True}


@app.post("/ocr")
async def ocr(file: UploadFile):
    processor, net = model()
    image = Image.open(io.BytesIO(await file.read())).convert("RGB")
    pixels = processor(images=image, return_tensors="pt").pixel_values
    ids = net.generate(pixels)
    return {"text": processor.batch_decode(ids, skip_special_tokens=True)[0]}
