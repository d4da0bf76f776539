#!/usr/bin/env bash
# Every GPU measurement of docs/PERFORMANCE.md in one command, for a lent GPU
# machine that has JAX but no TensorFlow and no Keras: Keras's wheels travel
# in .whl/ (keras, namex, optree; the runs in docs/PERFORMANCE.md also
# carried Altair and its dependencies, which the lab modules then imported at
# module level and no longer do), the original Fashion-MNIST IDX files in
# .gpudata/fashion-mnist/. Each benchmark writes its table to
# $OUT/perf_gpu.md (merged into docs/PERFORMANCE.md by hand) and has its own
# time limit, most important first, so a short lease still returns the
# overhead table.
#
#   bash bench/gpu_session.sh            # from the repository root; OUT=folder for the results
#   PARTS="labs" bash bench/gpu_session.sh   # some of: device overhead steps labs resnet
set -u
OUT=${OUT:-/tmp/gpu-out}
mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
  || exit 1
export PYTHONPATH=/tmp/site KERAS_BACKEND=jax LABCORE_DATA_DIR=$PWD/.gpudata PYTHONUNBUFFERED=1
export LABCORE_HOME=/tmp/labcore-home TF_CPP_MIN_LOG_LEVEL=2
report="--out $OUT/perf_gpu.md"
PARTS=" ${PARTS:-device overhead steps labs resnet} "
step() { echo; echo "=== $* ($(date -u +%T))"; }
want() { [[ $PARTS == *" $1 "* ]]; }

want device && step "device" && {
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
python3 -c "from labcore import device; p = device.probe(); print(p); print('sidebar:', device.describe(p))"
}

want overhead && step "training overhead: default spec, batch 256, plain / plain+hook / app" &&
timeout 230 python3 -m bench.training_overhead --dataset fashion_mnist --batch-size 256 --epochs 3 \
  --repeats 2 --hook $report

want steps && step "training overhead: the same with 8 steps per execution" &&
timeout 80 python3 -m bench.training_overhead --dataset fashion_mnist --batch-size 256 --epochs 3 \
  --repeats 1 --steps-per-execution 8 $report

want labs && step "labs' full presets, epochs cut to 1-2, on full Fashion-MNIST" &&
timeout 440 python3 -m bench.lab_presets --preset full --timeout 140 --labs regularization ensemble autoencoder \
  --set dataset=fashion_mnist --set regularization.epochs=2 --set regularization.warmup_epochs=1 \
  --set ensemble.epochs=2 --set ensemble.stacking_epochs=1 \
  --set autoencoder.ae_warmup_epochs=1 --set autoencoder.ae_epochs=1 --set autoencoder.classifier_epochs=2 $report

want resnet && step "training overhead: the Regularization lab's ResNet v2 (1.9M params), batch 32 and 256" &&
for batch in 32 256; do
  timeout 120 python3 -m bench.training_overhead --spec regularization_resnet_v2 --dataset fashion_mnist \
    --subset 20000 --batch-size $batch --epochs 2 --repeats 1 $report
done

step "done"
