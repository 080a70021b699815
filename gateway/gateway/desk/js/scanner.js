// The camera: QR codes read by the browser's BarcodeDetector where it exists, else by the
// vendored jsQR (vendor/jsQR.js).

const EVERY_MS = 150;

async function reader() {
  if ("BarcodeDetector" in window) {
    const formats = await window.BarcodeDetector.getSupportedFormats();
    if (formats.includes("qr_code")) {
      const detector = new window.BarcodeDetector({ formats: ["qr_code"] });
      return async (video) => (await detector.detect(video))[0]?.rawValue;
    }
  }
  const canvas = document.createElement("canvas");
  const context = canvas.getContext("2d", { willReadFrequently: true });
  return async (video) => {
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    if (!canvas.width) return undefined;
    context.drawImage(video, 0, 0);
    const image = context.getImageData(0, 0, canvas.width, canvas.height);
    return window.jsQR(image.data, image.width, image.height)?.data;
  };
}

/** Shows the camera in `video` until a QR code is read (`onRead(text)`) or `stop()`. */
export async function scan(video, onRead) {
  const stream = await navigator.mediaDevices.getUserMedia({
    video: { facingMode: "environment" },
    audio: false,
  });
  video.srcObject = stream;
  await video.play();
  const read = await reader();
  let timer;
  let stopped = false;
  const stop = () => {
    stopped = true;
    clearTimeout(timer);
    stream.getTracks().forEach((track) => track.stop());
    video.srcObject = null;
  };
  const tick = async () => {
    const text = await read(video).catch(() => undefined);
    if (stopped) return;
    if (text) {
      stop();
      onRead(text);
    } else {
      timer = setTimeout(tick, EVERY_MS);
    }
  };
  tick();
  return stop;
}
