#!/usr/bin/env python3
"""The project's PyTorch peer: the paper's L0 networks trained the way l0repro trains them, on the CPU.

Written for l0repro's benchmarks (`l0repro bench mlp|lenet5|inference`), so that anyone with PyTorch can
check the speed ratios the README quotes. Same networks, gates and protocol as l0repro (DESIGN §1):

- MLP 784-300-100-10 with one hard concrete gate per input of each layer (initial drop rates 0.2, 0.5,
  0.5); LeNet-5-Caffe (conv 20 and 50 maps of 5x5, each followed by 2x2 max pooling and a ReLU, then
  800-500-10) with a gate per output map of each convolution and per input of each dense layer (drop
  rate 0.5);
- one gate sample per minibatch; λ/N per layer (λ = 0.1 by default) times the group size, and
  the expected L2 penalty 5e-4/N weighted by P(z != 0); log α clamped to [log 0.01, log 100];
- Adam 1e-3, batch 100, a debiased moving average of the weights (0.999) for evaluation with the
  deterministic gates.

PyTorch's fast CPU path is used: a dense layer's gate multiplies its input (batch x inputs values)
rather than W, a convolution's gate multiplies its filters, and Adam runs fused when PyTorch has it.

Modes (one JSON line per result on stdout):
  train      (default) --epochs E: {"epoch", "train_s", "loss", "test_error", "kept", "exp_flops"};
             --from MODEL starts from an l0repro model file (its weights, biases and log α), e.g. a
             finished run's model.bin, where the gates have closed. --variant dense trains the
             network without gates (L2 weight decay 5e-4/N on every weight and bias), --variant
             dropout the same with dropout of each dense layer's input at the gates' initial drop
             rate (l0repro's dense and dropout variants).
  inference  --from MODEL or random weights: the dense network's forward (no gates) on the first test
             images of --data, timed at each --batches size on each --thread-counts count, --repeats
             times: {"torch"} (the version), then {"batch", "threads", "median_s", "seconds"}.
"""
import argparse
import gzip
import json
import math
import os
import struct
import time

import numpy as np
import torch
import torch.nn.functional as F

LOW, HIGH, TEMPERATURE = -0.1, 1.1, 2.0 / 3.0
LOG_ALPHA_RANGE = (math.log(1e-2), math.log(1e2))
# log P(z != 0) = log sigmoid(log α - TEMPERATURE * log(-LOW / HIGH))
OPEN_SHIFT = TEMPERATURE * math.log(-LOW / HIGH)


def read_idx(directory, stem):
    """An IDX file of the directory, gzip or plain, as a numpy array."""
    for name in (stem + ".gz", stem):
        path = os.path.join(directory, name)
        if os.path.exists(path):
            opener = gzip.open if name.endswith(".gz") else open
            with opener(path, "rb") as handle:
                raw = handle.read()
            dims = [struct.unpack(">I", raw[4 + 4 * i : 8 + 4 * i])[0] for i in range(raw[3])]
            return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * len(dims)).reshape(dims)
    raise SystemExit(f"torch_peer: {os.path.join(directory, stem)}[.gz] not found; pass --data DIR")


def read_model(path):
    """An l0repro model file (DESIGN: "L0RPMODL", version, header length, JSON header, Float32
    payload): the network's name and a dict of tensors by name."""
    with open(path, "rb") as handle:
        raw = handle.read()
    if raw[:8] != b"L0RPMODL":
        raise SystemExit(f"torch_peer: {path} is not an l0repro model file")
    version, length = struct.unpack("<II", raw[8:16])
    if version != 1:
        raise SystemExit(f"torch_peer: {path} has model format {version}; this script reads format 1")
    header = json.loads(raw[16 : 16 + length])
    values = np.frombuffer(raw, dtype="<f4", offset=16 + length)
    tensors, offset = {}, 0
    for entry in header["tensors"]:
        count = int(np.prod(entry["shape"]))
        tensors[entry["name"]] = torch.tensor(values[offset : offset + count].reshape(entry["shape"]).copy())
        offset += count
    return header["network"], tensors


class Gates:
    """Hard concrete gates: log α, one sample per minibatch in training, ẑ in evaluation."""

    def __init__(self, groups, drop_rate):
        mean = math.log(1 - drop_rate) - math.log(drop_rate)
        self.log_alpha = torch.empty(groups).normal_(mean, 0.01).requires_grad_()

    def draw(self, training):
        if not training:
            return (torch.sigmoid(self.log_alpha) * (HIGH - LOW) + LOW).clamp(0, 1)
        u = torch.empty_like(self.log_alpha).uniform_(1e-6, 1 - 1e-6)
        s = torch.sigmoid((u.log() - (-u).log1p() + self.log_alpha) / TEMPERATURE)
        return (s * (HIGH - LOW) + LOW).clamp(0, 1)

    def open_probability(self):
        return torch.sigmoid(self.log_alpha - OPEN_SHIFT)


class Layer:
    """A dense layer (weight inputs x outputs, gate per input) or a convolution (weight Cout x Cin x
    k x k, gate per output map)."""

    def __init__(self, name, shape, drop_rate, gated, fan_in):
        self.name, self.shape, self.drop_rate = name, shape, drop_rate
        self.weight = (torch.randn(*shape) * math.sqrt(2.0 / fan_in)).requires_grad_()
        self.bias = torch.zeros(shape[0] if len(shape) == 4 else shape[1], requires_grad=True)
        groups = shape[0] if len(shape) == 4 else shape[0]
        self.gates = Gates(groups, drop_rate) if gated else None

    def parameters(self):
        return [self.weight, self.bias] + ([self.gates.log_alpha] if self.gates else [])

    def group_size(self):
        return int(np.prod(self.shape[1:]))

    def penalty(self, lam, decay):
        if not self.gates:
            return 0.5 * decay * (self.weight.pow(2).sum() + self.bias.pow(2).sum())
        squares = self.weight.pow(2).flatten(1).sum(1)
        cost = lam * self.group_size() + 0.5 * decay * squares
        return (self.gates.open_probability() * cost).sum() + 0.5 * decay * self.bias.pow(2).sum()

    def load(self, tensors):
        with torch.no_grad():
            self.weight.copy_(tensors[self.name + ".weight"])
            self.bias.copy_(tensors[self.name + ".bias"])
            if self.gates and self.name + ".logAlpha" in tensors:
                self.gates.log_alpha.copy_(tensors[self.name + ".logAlpha"])


def build(model, gated):
    if model == "mlp":
        return [
            Layer("fc1", (784, 300), 0.2, gated, 784),
            Layer("fc2", (300, 100), 0.5, gated, 300),
            Layer("fc3", (100, 10), 0.5, gated, 100),
        ]
    return [
        Layer("conv1", (20, 1, 5, 5), 0.5, gated, 25),
        Layer("conv2", (50, 20, 5, 5), 0.5, gated, 500),
        Layer("fc1", (800, 500), 0.5, gated, 800),
        Layer("fc2", (500, 10), 0.5, gated, 500),
    ]


def forward(layers, x, training, dropout=False):
    """Logits of a batch of flat images; gates sampled once (training) or ẑ (evaluation); with
    `dropout`, each dense layer's input dropped at its rate in training."""
    for index, layer in enumerate(layers):
        z = layer.gates.draw(training) if layer.gates else None
        if len(layer.shape) == 4:
            if index == 0:
                x = x.view(-1, 1, 28, 28)
            weight = layer.weight if z is None else layer.weight * z[:, None, None, None]
            bias = layer.bias if z is None else layer.bias * z
            x = F.relu(F.max_pool2d(F.conv2d(x, weight, bias), 2))
        else:
            x = x.flatten(1)
            if index > 0 and len(layers[index - 1].shape) == 2:
                x = F.relu(x)
            if dropout and training:
                x = F.dropout(x, layer.drop_rate)
            x = torch.addmm(layer.bias, x if z is None else x * z, layer.weight)
    return x


def expected_flops(layers):
    """DESIGN §1.5: a dense layer (2·ĩ − 1)·outputs + outputs; a convolution H·W·õ·(2·k²·c̃ − 1) + H·W·õ,
    c̃ the Σπ of the convolution before it."""
    total, channels, side = 0.0, 1.0, 28
    for layer in layers:
        p = float(layer.gates.open_probability().sum()) if layer.gates else float(layer.shape[0])
        if len(layer.shape) == 4:
            side -= layer.shape[2] - 1
            kernel = layer.shape[2] * layer.shape[3]
            total += side * side * p * (2 * kernel * channels - 1) + side * side * p
            channels, side = p, side // 2
        else:
            outputs = layer.shape[1]
            total += (2 * p - 1) * outputs + outputs
    return total


def train(arguments, layers, data):
    images, labels, test_images, test_labels = data
    count = images.shape[0]
    lambdas = [float(v) for v in arguments.lambdas.split(",")]
    lambdas = lambdas * len(layers) if len(lambdas) == 1 else lambdas
    if len(lambdas) != len(layers):
        raise SystemExit(f"torch_peer: --lambdas needs 1 or {len(layers)} values, got {arguments.lambdas}")
    lambdas = [value / count for value in lambdas]
    decay = arguments.weight_decay / count
    parameters = [p for layer in layers for p in layer.parameters()]
    try:
        optimizer = torch.optim.Adam(parameters, lr=arguments.learning_rate, fused=True)
    except (RuntimeError, TypeError):
        optimizer = torch.optim.Adam(parameters, lr=arguments.learning_rate, foreach=True)
    averages = [p.detach().clone().zero_() for p in parameters]
    steps = 0
    for epoch in range(arguments.epochs):
        started = time.perf_counter()
        order = torch.randperm(count)
        total = 0.0
        for start in range(0, count, arguments.batch):
            rows = order[start : start + arguments.batch]
            logits = forward(layers, images[rows], training=True, dropout=arguments.variant == "dropout")
            loss = F.cross_entropy(logits, labels[rows])
            loss = loss + sum(layer.penalty(lam, decay) for layer, lam in zip(layers, lambdas))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(rows)
            with torch.no_grad():
                for layer in layers:
                    if layer.gates:
                        layer.gates.log_alpha.clamp_(*LOG_ALPHA_RANGE)
                steps += 1
                torch._foreach_mul_(averages, arguments.average)
                torch._foreach_add_(averages, [p.detach() for p in parameters], alpha=1 - arguments.average)
        seconds = time.perf_counter() - started
        saved = [p.detach().clone() for p in parameters]
        with torch.no_grad():
            for average, p in zip(averages, parameters):
                p.copy_(average / (1 - arguments.average**steps))
            wrong = (forward(layers, test_images, training=False).argmax(1) != test_labels).sum().item()
            kept = [int((layer.gates.draw(False) > 0).sum()) if layer.gates else layer.shape[0] for layer in layers]
            flops = expected_flops(layers)
            for value, p in zip(saved, parameters):
                p.copy_(value)
        line = {"epoch": epoch + 1, "train_s": round(seconds, 4), "loss": round(total / count, 5)}
        line.update({"test_error": round(100 * wrong / len(test_labels), 3), "kept": kept, "exp_flops": round(flops)})
        print(json.dumps(line), flush=True)


def inference(arguments, layers, test_images):
    """The dense network's forward, timed on the first test images (repeated up to the batch size)."""
    batches = [int(v) for v in arguments.batches.split(",")]
    counts = [int(v) for v in arguments.thread_counts.split(",")]
    print(json.dumps({"torch": torch.__version__}), flush=True)
    for threads in counts:
        torch.set_num_threads(threads)
        for batch in batches:
            x = test_images[torch.arange(batch) % test_images.shape[0]].contiguous()
            seconds = []
            with torch.inference_mode():
                forward(layers, x, training=False)  # warm-up
                for _ in range(arguments.repeats):
                    started = time.perf_counter()
                    forward(layers, x, training=False)
                    seconds.append(time.perf_counter() - started)
            median = sorted(seconds)[len(seconds) // 2]
            print(json.dumps({"batch": batch, "threads": threads, "median_s": median, "seconds": seconds}), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", nargs="?", default="train", choices=["train", "inference"])
    parser.add_argument("--model", default="mlp", choices=["mlp", "lenet5", "lenet"])
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist", help="directory of the four IDX files")
    parser.add_argument("--from", dest="start", help="an l0repro model file to start from")
    parser.add_argument("--variant", default="l0", choices=["l0", "dense", "dropout"], help="train: gates (l0), none, or dropout")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lambdas", default="0.1", help="λ for every layer, or one per layer (a,b,c)")
    parser.add_argument("--weight-decay", type=float, default=5e-4)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--average", type=float, default=0.999)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--limit", type=int, default=0, help="train on the first N examples only")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batches", default="1,100,10000", help="inference: batch sizes")
    parser.add_argument("--thread-counts", default=None, help="inference: thread counts (default: 1 and --threads)")
    parser.add_argument("--repeats", type=int, default=20, help="inference: timed forwards per case")
    arguments = parser.parse_args()
    model = "lenet5" if arguments.model == "lenet" else arguments.model
    torch.manual_seed(arguments.seed)
    torch.set_num_threads(arguments.threads)
    torch.set_flush_denormal(True)
    if arguments.thread_counts is None:
        arguments.thread_counts = ",".join(str(v) for v in sorted({1, arguments.threads}))

    tensors = None
    if arguments.start:
        network, tensors = read_model(arguments.start)
        if network != model:
            raise SystemExit(f"torch_peer: {arguments.start} holds a {network}, not a {model}")
    layers = build(model, gated=arguments.mode == "train" and arguments.variant == "l0")
    if tensors is not None:
        for layer in layers:
            layer.load(tensors)

    def images(stem):
        return torch.tensor(read_idx(arguments.data, stem).reshape(-1, 784), dtype=torch.float32) / 255

    def labels(stem):
        return torch.tensor(read_idx(arguments.data, stem), dtype=torch.long)

    if arguments.mode == "inference":
        return inference(arguments, layers, images("t10k-images-idx3-ubyte"))

    train_images, train_labels = images("train-images-idx3-ubyte"), labels("train-labels-idx1-ubyte")
    if arguments.limit:
        train_images, train_labels = train_images[: arguments.limit], train_labels[: arguments.limit]
    data = (train_images, train_labels, images("t10k-images-idx3-ubyte"), labels("t10k-labels-idx1-ubyte"))
    train(arguments, layers, data)


if __name__ == "__main__":
    main()
