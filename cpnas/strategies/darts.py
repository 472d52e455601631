"""``darts``: first-order DARTS on the binarized supernet, the differentiable baseline.

Every edge runs the softmax-weighted sum of its ops (a mixed op; ``none`` adds nothing), and
architecture weights alpha (one row per edge) are learned next to the network weights:
alternating a weight step on a training batch (alpha fixed) and an alpha step on a
validation batch (weights fixed; first order, Liu et al. 2019, Sec. 2.3). The network is
the child: 1-bit weights and activations in the cells, the same options as CP-NAS.

Budget: the same number of weight steps on training images as a CP-NAS search of the same
config (``n_samples`` samples of ``steps_per_sample`` steps), split into the same rounds
and samples, so the events line up: after each sample, SampleTrained (``arch`` is the
argmax op per edge, ``child_acc`` the mixed net's validation accuracy; there is no parent,
so the parent fields repeat the child's and the gap is 0); after
each round, RoundScored with ``zbar`` = alpha and ``ev`` = softmax(alpha). Nothing is
pruned: DARTS keeps every op to the end. The genotype keeps, per node, the two edges whose
best non-``none`` op has the highest weight (DARTS's rule).
"""

from __future__ import annotations

import copy
import dataclasses
import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .. import events
from ..distributed import SINGLE
from ..genotype import derive_genotype
from ..loop import SampleResult
from ..model import SuperNet
from ..ops import OpSpec
from ..space import cell_edges, parse_edge_id
from ..train import Batches, Stopped, make_optimizer, pack_tensors, unpack_tensors
from .random import emit_sample

ARCH_LR, ARCH_BETAS, ARCH_WD = 3e-4, (0.5, 0.999), 1e-3  # DARTS's architecture optimizer


class DartsTrainer:
    """The binarized supernet with architecture weights, trained first-order."""

    def __init__(self, config, data, device) -> None:
        self.config, self.data, self.device = config, data, device
        self.ops = tuple(config.ops)
        spec = OpSpec(binary=True, shortcut=config.shortcut, batch_stats=config.bn_batch_stats)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            self.net = SuperNet(config.space, data.in_channels, data.num_classes,
                                config.channels, config.cells, spec,
                                fp_preprocess=config.fp_preprocess,
                                distinct_inputs=config.distinct_inputs).to(device)
            self.alpha = {kind: (1e-3 * torch.randn(len(cell_edges(kind, config.nodes)),
                                                    len(self.ops))).to(device).requires_grad_()
                          for kind in config.space.cell_types}
        self.w_opt = make_optimizer(config.optimizer, self.net.parameters(), config.lr,
                                    config.momentum, config.weight_decay)
        self.a_opt = torch.optim.Adam(list(self.alpha.values()), lr=ARCH_LR, betas=ARCH_BETAS,
                                      weight_decay=ARCH_WD)
        self.batches = Batches(len(data.y_train), config.batch_size, config.seed)
        self.val_batches = Batches(len(data.y_val), config.batch_size, config.seed + 1)

    @property
    def steps_per_sample(self) -> int:
        return self.config.sample_steps or self.batches.per_epoch

    # -- the mixed network ------------------------------------------------------------------
    def weights(self) -> dict[str, torch.Tensor]:
        return {kind: F.softmax(a, dim=-1) for kind, a in self.alpha.items()}

    def forward(self, x: torch.Tensor, weights: dict[str, torch.Tensor]) -> torch.Tensor:
        net = self.net
        s0, s1 = net.inputs(x)
        for cell in net.cells:
            s0, s1 = s1, self._cell(cell, s0, s1, weights[cell.kind])
        return net.classifier(s1.mean(dim=(2, 3)))

    def _cell(self, cell, s0, s1, w: torch.Tensor) -> torch.Tensor:
        states = [cell.pre0(s0), cell.pre1(s1)]
        row = 0
        for dst in range(2, cell.nodes + 2):
            out = None
            for src in range(dst):
                ops = cell.edges[f"{src}_{dst}"]
                for k, name in enumerate(self.ops):
                    if name == "none":  # a zero output: it only takes weight from the others
                        continue
                    term = w[row, k] * ops[name](states[src])
                    out = term if out is None else out + term
                row += 1
            states.append(out)
        return torch.cat([states[i] for i in cell.concat], dim=1)

    # -- training ---------------------------------------------------------------------------
    def step(self, idx: torch.Tensor, val_idx: torch.Tensor) -> float:
        """One weight step on a training batch, then one alpha step on a validation batch."""
        d = self.data
        loss = self._weight_step(idx, {k: w.detach() for k, w in self.weights().items()})
        xv, yv = d.x_val[val_idx.to(self.device)], d.y_val[val_idx.to(self.device)]
        self.a_opt.zero_grad(set_to_none=True)
        self.net.requires_grad_(False)
        try:
            F.cross_entropy(self.forward(xv, self.weights()), yv).backward()
        finally:
            self.net.requires_grad_(True)
        self.a_opt.step()
        return loss

    def warm_up(self, steps: int, rng=None, should_stop=lambda: False) -> None:
        """``steps`` weight steps of the mixed net with alpha fixed (uniform weights at the
        start), before round 0; ``rng`` is unused (kept for the trainers' common call)."""
        weights = {k: w.detach() for k, w in self.weights().items()}
        for idx in self.batches.take(steps) if steps else []:
            if should_stop():
                raise Stopped
            self._weight_step(idx, weights)

    def _weight_step(self, idx: torch.Tensor, weights: dict[str, torch.Tensor]) -> float:
        d = self.data
        self.net.train()
        x, y = d.x_train[idx.to(self.device)], d.y_train[idx.to(self.device)]
        self.w_opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(self.forward(x, weights), y)
        loss.backward()
        self.w_opt.step()
        return float(loss.detach())

    @torch.no_grad()
    def accuracy(self, chunk: int = 1024) -> float:
        self.net.eval()
        w = self.weights()
        x, y = self.data.x_val, self.data.y_val
        right = sum(int((self.forward(x[i:i + chunk], w).argmax(1) == y[i:i + chunk]).sum())
                    for i in range(0, len(y), chunk))
        return right / max(1, len(y))

    def train_sample(self, on_step, should_stop) -> SampleResult:
        """Train for one sample's steps, then validate the mixed net. There is no parent:
        the parent fields repeat the child's (events hold finite numbers only), so the gap
        is 0 and z is the child's accuracy."""
        t0 = time.time()
        steps = self.steps_per_sample
        total = 0.0
        for i, (idx, vidx) in enumerate(zip(self.batches.take(steps), self.val_batches.take(steps))):
            if should_stop():
                raise Stopped
            loss = self.step(idx, vidx)
            total += loss
            on_step(i + 1, steps, loss, loss)
        acc = self.accuracy()
        return SampleResult(child_acc=acc, parent_acc=acc, child_loss=total / steps,
                            parent_loss=total / steps, seconds=time.time() - t0)

    def scores(self) -> tuple[dict, dict]:
        """alpha and softmax(alpha) as edge id -> op -> value (RoundScored's zbar and ev)."""
        zbar, evs = {}, {}
        for kind, a in self.alpha.items():
            w = F.softmax(a.detach(), dim=-1).cpu().tolist()
            for row, (edge, raw) in enumerate(zip(cell_edges(kind, self.config.nodes),
                                                  a.detach().cpu().tolist())):
                zbar[edge] = dict(zip(self.ops, raw))
                evs[edge] = dict(zip(self.ops, w[row]))
        return zbar, evs

    # -- checkpoint -------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return pack_tensors({"net": self.net.state_dict(),
                             "alpha": {k: a.detach().clone() for k, a in self.alpha.items()},
                             "w_opt": self.w_opt.state_dict(), "a_opt": self.a_opt.state_dict(),
                             "data_order": self.batches.generator.get_state(),
                             "val_order": self.val_batches.generator.get_state()})

    def load_state_dict(self, state) -> None:
        state = unpack_tensors(state)
        self.net.load_state_dict(state["net"])
        with torch.no_grad():
            for k, a in self.alpha.items():
                a.copy_(state["alpha"][k])
        self.w_opt.load_state_dict(state["w_opt"])
        self.a_opt.load_state_dict(state["a_opt"])
        self.batches.generator.set_state(state["data_order"])
        self.val_batches.generator.set_state(state["val_order"])


@dataclass
class DartsState:
    """Where the schedule stands: the next sample is (round, t, s); ``started``: RoundStarted sent."""

    round: int = 0
    t: int = 0
    s: int = 0
    started: bool = False

    def to_dict(self) -> dict:
        return copy.deepcopy(dataclasses.asdict(self))


class Darts:
    name = "darts"
    data_parallel = False  # one process only: its trainer does not shard (refused under torchrun)

    def trainer(self, config, data, device, dist=SINGLE) -> DartsTrainer:
        return DartsTrainer(config, data, device)

    def start(self, config) -> DartsState:
        return DartsState()

    def state_from_dict(self, data: dict) -> DartsState:
        return DartsState(**copy.deepcopy(data))

    def run(self, ctx) -> dict[str, str] | None:
        st, cfg, tr = ctx.loop, ctx.config, ctx.trainer
        ops, space = list(cfg.ops), cfg.space
        while len(ops) - st.round > 1:  # rounds K, K-1, ..., 2, as in Algorithm 9
            k = len(ops) - st.round
            if not st.started:
                ctx.emit(events.RoundStarted, {"round": st.round, "K": k,
                                           "alive": {e: list(ops) for e in space.edges}})
                st.started = True
            while st.t < cfg.repeats:
                if ctx.should_stop():
                    return None
                rnd, t, s = st.round, st.t, st.s
                out = tr.train_sample(ctx.progress(rnd, t, s), ctx.stop_within)
                emit_sample(ctx.emit, rnd, t, s, self._argmax(tr, cfg, keep_none=True), out,
                            out.child_acc)
                st.s += 1
                if st.s == k:
                    st.s, st.t = 0, st.t + 1
                ctx.checkpoint(st, rnd, t, s)
            zbar, evs = tr.scores()
            ctx.emit(events.RoundScored, {"round": st.round, "zbar": zbar, "ev": evs})
            st.round, st.t, st.s, st.started = st.round + 1, 0, 0, False
        return self._argmax(tr, cfg, keep_none=False)

    @staticmethod
    def _argmax(tr: DartsTrainer, cfg, keep_none: bool) -> dict[str, str]:
        _, evs = tr.scores()
        return {e: max((o for o in per if keep_none or o != "none"), key=per.__getitem__)
                for e, per in evs.items()}

    def derive(self, state, stream, survivors, config):
        last = [x for x in stream if isinstance(x, events.RoundScored)][-1]
        weight = {e: last.ev[e][op] for e, op in survivors.items()}
        # the survivors are each edge's best op other than none, so the "darts" rule and
        # "top2" coincide here: two edges per node by weight
        mode = "all" if config.genotype_mode == "all" else "top2"
        geno = derive_genotype(survivors, weight, config.nodes, mode)
        kept = {(c, src, dst) for c in ("normal", "reduce") for _, src, dst in geno.edges(c)}
        edges = {e: {"op": op, "ev": weight[e], "zbar": last.zbar[e][op],
                     "selected": parse_edge_id(e) in kept} for e, op in survivors.items()}
        return geno, edges


STRATEGY = Darts()
