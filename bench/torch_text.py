#!/usr/bin/python3
"""PyTorch peer of train_text (examples/train_text.c): the same character model,
data layout and optimizer, for bench/text.sh.

Same data: the UTF-8 text as code points, the vocabulary = its sorted distinct code
points, the last 10% held out; B streams of floor(n/B) ids (batchify), chunks of T
steps, a shorter last chunk dropped; validation on min(B, n_val // (T+1)) streams.
Same model: nn.Embedding(V, E) -> nn.LSTM/GRU(E, H) -> nn.Linear(H, V), PyTorch's
default initialisation (which train_text also uses), softmax cross-entropy, Adam,
the hidden state carried from chunk to chunk and detached, zero at the start.

    /usr/bin/python3 bench/torch_text.py --text FILE [--cell lstm|gru] [--embed 64]
        [--hidden 256] [--batch 32] [--steps 64] [--lr 0.002] [--max-steps 100]
        [--threads 1] [--seed 1]

Prints, last, a line
    RESULT chars_per_s=<training throughput> val_loss=<nats/char after the steps>
"""
import argparse
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def streams(ids, B, T):
    L = len(ids) // B
    data = torch.tensor(ids[:L * B], dtype=torch.long).view(B, L).t().contiguous()  # L x B
    return data, (L - 1) // T


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--text", required=True)
    ap.add_argument("--cell", default="lstm")
    ap.add_argument("--embed", type=int, default=64)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=64)
    ap.add_argument("--lr", type=float, default=0.002)
    ap.add_argument("--max-steps", type=int, default=100)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    with open(a.text, encoding="utf-8") as f:
        text = f.read()
    if text.startswith("\ufeff"):
        text = text[1:]
    vocab = sorted(set(text))
    index = {c: i for i, c in enumerate(vocab)}
    ids = [index[c] for c in text]
    n_val = int(len(ids) * 0.1)
    train, val = ids[:len(ids) - n_val], ids[len(ids) - n_val:]
    B, T, V = a.batch, a.steps, len(vocab)
    tdata, tchunks = streams(train, B, T)
    vb = min(B, n_val // (T + 1))
    vdata, vchunks = streams(val, vb, T)

    emb = nn.Embedding(V, a.embed)
    rnn = (nn.LSTM if a.cell == "lstm" else nn.GRU)(a.embed, a.hidden)
    out = nn.Linear(a.hidden, V)
    params = list(emb.parameters()) + list(rnn.parameters()) + list(out.parameters())
    opt = torch.optim.Adam(params, lr=a.lr)

    def zero(b):
        h = torch.zeros(1, b, a.hidden)
        return (h, torch.zeros(1, b, a.hidden)) if a.cell == "lstm" else h

    def detach(h):
        return tuple(x.detach() for x in h) if isinstance(h, tuple) else h.detach()

    def loss_of(data, c, h):
        x, y = data[c * T:(c + 1) * T], data[c * T + 1:(c + 1) * T + 1]
        o, h = rnn(emb(x), h)
        return F.cross_entropy(out(o.reshape(-1, a.hidden)), y.reshape(-1)), h

    h = zero(B)
    steps = min(a.max_steps, tchunks)
    t0 = time.perf_counter()
    for c in range(steps):
        h = detach(h)
        loss, h = loss_of(tdata, c, h)
        opt.zero_grad()
        loss.backward()
        opt.step()
    secs = time.perf_counter() - t0
    with torch.no_grad():
        h, tot = zero(vb), 0.0
        for c in range(vchunks):
            l, h = loss_of(vdata, c, h)
            tot += l.item()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), {a.cell}, "
          f"V {V}, {steps} steps of {B}x{T}: {secs:.1f} s, last train loss {loss.item():.4f}")
    print(f"RESULT chars_per_s={steps * B * T / secs:.0f} val_loss={tot / vchunks:.4f}")


if __name__ == "__main__":
    main()
