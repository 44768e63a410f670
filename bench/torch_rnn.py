#!/usr/bin/python3
"""PyTorch side of bench/rnn_step.c: the same character-model step (embedding V 96,
E 64 -> 1-layer LSTM or GRU, H 256 -> linear -> cross-entropy; B 32 x T 64 uniform
random tokens; Adam 2e-3; the hidden state detached and carried between chunks),
float32, two warm-up chunks, then CHUNKS timed.

    /usr/bin/python3 bench/torch_rnn.py [lstm|gru] [threads] [chunks]
Last line:  RESULT chars_per_s=<wall> cpu_chars_per_s=<process CPU> loss=<last>
"""
import sys
import time

import torch

kind = sys.argv[1] if len(sys.argv) > 1 else "lstm"
threads = int(sys.argv[2]) if len(sys.argv) > 2 else 1
chunks = int(sys.argv[3]) if len(sys.argv) > 3 else 20
torch.set_num_threads(threads)
torch.manual_seed(1)
V, E, H, B, T = 96, 64, 256, 32, 64
emb = torch.nn.Embedding(V, E)
rnn = (torch.nn.LSTM if kind == "lstm" else torch.nn.GRU)(E, H, 1, batch_first=True)
out = torch.nn.Linear(H, V)
params = list(emb.parameters()) + list(rnn.parameters()) + list(out.parameters())
opt = torch.optim.Adam(params, lr=2e-3)
state = None
for k in range(chunks + 2):
    if k == 2:
        w0, c0 = time.perf_counter(), time.process_time()
    x = torch.randint(0, V, (B, T))
    y = torch.randint(0, V, (B * T,))
    opt.zero_grad()
    o, state = rnn(emb(x), state)
    state = tuple(v.detach() for v in state) if kind == "lstm" else state.detach()
    loss = torch.nn.functional.cross_entropy(out(o.reshape(B * T, H)), y)
    loss.backward()
    opt.step()
wall, cpu = time.perf_counter() - w0, time.process_time() - c0
chars = chunks * B * T
print(f"PyTorch {torch.__version__} {kind}, {threads} thread{'s' if threads > 1 else ''}: "
      f"{chars / wall:.0f} chars/s wall, {chars / cpu:.0f} per CPU second")
print(f"RESULT chars_per_s={chars / wall:.0f} cpu_chars_per_s={chars / cpu:.0f} loss={loss.item():.4f}")
