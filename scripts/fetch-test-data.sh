#!/usr/bin/env bash
# Downloads the Coral test data the tests and benchmarks use into DIR, laid out as models/,
# segments/, images/ and labels/ (then: CORAL_TEST_DATA=DIR npm test).
#   scripts/fetch-test-data.sh DIR
# Source: Coral's public test-data repository (Apache-2.0); set CORAL_TEST_DATA_URL to use a mirror
# or a pinned commit, e.g. https://raw.githubusercontent.com/google-coral/test_data/<commit>.
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 DIR" >&2
  exit 2
fi
dest=$1
base=${CORAL_TEST_DATA_URL:-https://raw.githubusercontent.com/google-coral/test_data/master}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

command -v curl >/dev/null || { echo "$0: curl is needed" >&2; exit 1; }
command -v node >/dev/null || { echo "$0: node is needed (to convert the BMP images)" >&2; exit 1; }

# fetch REMOTE LOCAL: one file, retried, written only when complete.
fetch() {
  local url="$base/$1" out="$dest/$2"
  mkdir -p "$(dirname "$out")"
  echo "fetching $1 -> $2"
  if ! curl --fail --silent --show-error --location --retry 5 --retry-delay 2 --connect-timeout 20 \
      --output "$out.part" "$url"; then
    rm -f "$out.part"
    echo "$0: could not download $url (check the network or set CORAL_TEST_DATA_URL)" >&2
    exit 1
  fi
  mv "$out.part" "$out"
}

# Our file name <- its path in the repository.
for f in mobilenet_v2_1.0_224_quant mobilenet_v1_0.5_160_quant mobilenet_v1_0.5_160_quant_edgetpu \
    mobilenet_v1_0.25_128_quant mobilenet_v1_0.25_128_quant_edgetpu deeplabv3_mnv2_dm05_pascal_quant \
    keras_lstm_mnist_ptq split_concat split_concat_edgetpu; do
  fetch "$f.tflite" "models/$f.tflite"
done
fetch invalid_models/model_invoking_error.tflite models/model_invoking_error.tflite

for n in 2 4; do
  for ((i = 0; i < n; i++)); do
    f="ssd_mobilenet_v1_coco_quant_postprocess_segment_${i}_of_${n}_edgetpu.tflite"
    fetch "pipeline/$f" "segments/$f"
  done
done

for f in parrot.jpg cat_720p.jpg owl.jpg hot_dog.jpg; do
  fetch "$f" "images/$f"
done
# sharp reads no BMP: these are converted to lossless PNGs (same pixels).
for f in cat bird grace_hopper; do
  fetch "$f.bmp" "images/$f.bmp"
  node "$here/bmp-to-png.mjs" "$dest/images/$f.bmp" "$dest/images/$f.png"
  rm "$dest/images/$f.bmp"
done

for f in imagenet_labels.txt coco_labels.txt pascal_voc_segmentation_labels.txt; do
  fetch "$f" "labels/$f"
done
fetch COPYRIGHT COPYRIGHT

echo "done: CORAL_TEST_DATA=$dest"
