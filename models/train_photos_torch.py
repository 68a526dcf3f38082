"""Train the photos example's CNN in PyTorch and save it as a torch.export program.

Run by edgebuild as `python models/train_photos_torch.py --out PATH.pt2 [--epochs N]`; the prepared data
(32x32 RGB crops, NHWC, scaled to 0..1) is at $EDGEBUILD_DATA. The network takes NCHW pictures, as
PyTorch models do; edgebuild converts it to take NHWC ones. Everything is seeded, and torch runs on one
thread with deterministic algorithms, so the same data and arguments give the same weights.
"""
import argparse
import os

import numpy as np
import torch

parser = argparse.ArgumentParser()
parser.add_argument("--out", required=True)
parser.add_argument("--epochs", type=int, default=40)
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args()

torch.manual_seed(args.seed)
torch.use_deterministic_algorithms(True)
torch.set_num_threads(1)
data = np.load(os.environ["EDGEBUILD_DATA"])
x_train = torch.from_numpy(data["x_train"]).permute(0, 3, 1, 2).contiguous()  # NHWC -> NCHW
y_train = torch.from_numpy(data["y_train"]).long()
classes = int(y_train.max()) + 1


class PhotosNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.features = torch.nn.Sequential(
            torch.nn.Conv2d(3, 16, 3, stride=2, padding=1), torch.nn.ReLU(),
            torch.nn.Conv2d(16, 32, 3, stride=2, padding=1), torch.nn.ReLU(),
            torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten())
        self.classify = torch.nn.Linear(32, classes)

    def forward(self, x):
        return torch.softmax(self.classify(self.features(x)), dim=-1)


model = PhotosNet()
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
order = torch.Generator().manual_seed(args.seed)
for epoch in range(args.epochs):
    model.train()
    for batch in torch.randperm(len(x_train), generator=order).split(16):
        optimizer.zero_grad()
        probabilities = model(x_train[batch])
        loss = torch.nn.functional.nll_loss(torch.log(probabilities + 1e-7), y_train[batch])
        loss.backward()
        optimizer.step()
    if (epoch + 1) % 10 == 0:
        with torch.no_grad():
            accuracy = (model(x_train).argmax(-1) == y_train).float().mean().item()
        print(f"epoch {epoch + 1}/{args.epochs}: loss {loss.item():.4f}, training accuracy {accuracy:.4f}", flush=True)

model.eval()
program = torch.export.export(model, (x_train[:1].clone(),))  # (a view would save all of x_train)
torch.export.save(program, args.out)
