"""Checks an export can succeed before the minutes of quantization: the length the firmware
accepts, and a lower bound of flash and RAM (int8 weights, outlier-free arena) against the
board, with the largest --max-len that would fit when the arena is what does not."""

from __future__ import annotations

from ..boards import Board
from ..errors import EmbBertError
from ..model import EmbBertConfig
from .arena import plan_arena

MIN_LEN = 2  # [CLS] [SEP]
FW_MAX_T = 512  # EBQ_FW_MAX_T of the firmware (device.protocol.FW_MAX_T; a test keeps them equal)


def export_length(cfg: EmbBertConfig, max_len: int | None) -> int:
    """The exported max_len: --max-len or the model's, within what model and firmware take."""
    L = cfg.max_len if max_len is None else max_len
    top = min(cfg.max_len, FW_MAX_T)
    if not MIN_LEN <= L <= top:
        why = (f"the firmware accepts at most {FW_MAX_T} tokens" if L > FW_MAX_T
               else f"the model's max_len is {cfg.max_len}" if L > cfg.max_len
               else "an input needs at least [CLS] and [SEP]")
        flag = "--max-len" if max_len is not None else "the model's max_len"
        hint = f"; pass --max-len {top}" if L > top else ""
        raise EmbBertError(f"{flag} {L}: must be in [{MIN_LEN}, {top}] ({why}){hint}")
    return L


def weight_bytes_lower_bound(cfg: EmbBertConfig, L: int) -> int:
    """One byte per exported int8 weight; scales, biases and padding only add to it."""
    v, d, rd, a, k, c = (cfg.vocab_size, cfg.d_model, cfg.reduced_dim, cfg.expansion,
                         cfg.conv_kernel, cfg.num_labels)
    layer = 2 * d * d + a * d * k + a * d * d
    return v * rd + L * rd + 2 * d * rd + cfg.n_layers * layer + c * d


def arena_bytes(cfg: EmbBertConfig, T: int, outliers: int = 0) -> int:
    """The arena at length T with at most `outliers` outlier channels per set: 0 gives a lower
    bound, the cap an upper one (the plan grows with the outlier counts)."""
    return plan_arena(cfg.d_model, cfg.expansion, cfg.n_layers, outliers, max(1, outliers),
                      T).total


def check_fits(cfg: EmbBertConfig, board: Board, L: int, max_outliers: int | None = None
               ) -> None:
    """Refuses a model that cannot fit `board` at length L, from its config alone (lower
    bounds: never refuses one that fits). When the arena is what does not fit, suggests the
    longest --max-len that surely does (upper bound of the arena, outliers at their cap)."""
    w = weight_bytes_lower_bound(cfg, L)
    in_ram = board.weights_placement == "sram"
    if not in_ram and w > board.flash_capacity():
        raise EmbBertError(f"model too big for {board.name}: its int8 weights alone need at "
                           f"least {w:,} bytes of flash, {board.flash_capacity():,} available; "
                           "use a smaller model (vocab_size, d_model, n_layers)")
    cap = board.arena_capacity()
    need = arena_bytes(cfg, L) + (w if in_ram else 0)
    if need <= cap:
        return
    most = max(1, cfg.d_model // 32) if max_outliers is None else max_outliers
    fit = next((T for T in range(L - 1, MIN_LEN - 1, -1)
                if arena_bytes(cfg, T, most) + (w if in_ram else 0) <= cap), None)
    hint = (f"; try --max-len {fit}" if fit is not None else
            "; no --max-len makes it fit: use a smaller model")
    raise EmbBertError(f"model too big for {board.name} at max_len {L}: it needs at least "
                       f"{need:,} bytes of RAM, {cap:,} available{hint}")
