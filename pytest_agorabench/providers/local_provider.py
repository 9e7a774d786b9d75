"""The ``agora`` inspect provider: a Hugging Face causal LM served in-process with transformers.

Model strings: ``agora/smollm2-135m`` (a named offline model, see local_models.py) or ``agora/<checkpoint dir>``
(``agora//abs/path`` or ``agora/./relative/path``). Model args (``-M`` / ``model_args``): ``batch_size`` (32),
``batch_wait_ms`` (5), ``device`` ("auto": cuda when available, else cpu).

Concurrent ``generate`` calls on one event loop are grouped: the first request waits ``batch_wait_ms`` for
others, then up to ``batch_size`` requests with identical sampling parameters (the seed aside) run as one
left-padded ``model.generate`` in a worker thread; requests queued meanwhile form the next batch. A batch lasts until
its longest row ends (static batching). On CPU, decoding is bound by reading the weights once per step, so a
batch of 8 costs little more than one request.

Sampling gives each request its own random stream (``_sampling.py``): a request with a seed gets the same
answer whatever else shares its batch, so results never depend on how requests happened to be grouped.

``extra_body={"structured_outputs": {"grammar": <Lark>}}`` (or ``json``/``regex``, as vllm takes them) constrains
the output with llguidance's token mask, applied before the per-row sampler (``constrained.py``); the output's
metadata says how many parts of one of our layouts the provider had to close (``agora_force_closed``).

Prompts use the tokenizer's chat template. Without one, the documented fallback is one line per message,
``"<role>: <text>\\n"``, followed by ``"assistant:"``. Tools are not supported and are ignored.
"""

from __future__ import annotations

import dataclasses
import inspect
import os
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from inspect_ai.model import ChatMessage, GenerateConfig, ModelAPI, ModelCall, ModelOutput, ModelUsage

from ._batcher import Batcher
from ._kv_cache import reserved_cache
from .constrained import FORCE_CLOSED_KEY, LayoutMask, PlanCache, constraint_of
from ._sampling import RowSampler, fresh_seed
from .local_models import resolve_local_model

DEFAULT_MAX_TOKENS = 256
# CPU decoding reads the weights once per step for the whole batch: generated tokens per second at batch
# size 16 and 32 were 1.34x and 1.54x those at 8 (bench/provider_batching.py, SmolLM2, 32 requests).
DEFAULT_BATCH_SIZE = 32
DEFAULT_BATCH_WAIT_MS = 5.0
TINY_MODEL_PARAMS = 20_000_000
MAX_CONNECTIONS = 32  # must exceed batch_size or inspect never lets a full batch queue up
# Shorter shared prefixes are prefilled with the rest: copying the cache costs about what it saves.
MIN_SHARED_PREFIX = 16


@dataclass(frozen=True)
class SamplingParams:
    """Generation parameters; requests batch together when these are equal apart from ``seed``, which is
    each request's own (``batch_key``)."""

    do_sample: bool
    temperature: float | None
    top_p: float | None
    top_k: int | None
    max_new_tokens: int
    repetition_penalty: float
    seed: int | None
    stop_seqs: tuple[str, ...]
    constraint: tuple[str, str] | None = None  # structured_outputs as (kind, text): requests batch per grammar

    @property
    def batch_key(self) -> SamplingParams:
        return dataclasses.replace(self, seed=None)

    @classmethod
    def from_config(cls, config: GenerateConfig) -> SamplingParams:
        sample = bool(config.temperature)  # 0 or None -> greedy
        extra = config.extra_body or {}
        penalty = extra.get("repetition_penalty")
        # Unset values are given explicitly (top_p 1, top_k off, no penalty) as an OpenAI-style API does;
        # left as None, transformers would fill them from the checkpoint's generation_config (often top_k 50).
        return cls(
            do_sample=sample,
            temperature=float(config.temperature) if sample else None,
            top_p=(float(config.top_p) if config.top_p is not None else 1.0) if sample else None,
            top_k=(int(config.top_k) if config.top_k else 0) if sample else None,
            max_new_tokens=int(config.max_tokens) if config.max_tokens else DEFAULT_MAX_TOKENS,
            repetition_penalty=float(penalty) if penalty is not None else 1.0,
            seed=config.seed,
            stop_seqs=tuple(s for s in (config.stop_seqs or []) if s),
            constraint=constraint_of(extra.get("structured_outputs")),
        )


@dataclass
class Completion:
    text: str
    stop_reason: str  # "stop" | "max_tokens"
    input_tokens: int
    output_tokens: int
    force_closed: int = 0  # parts of a layout closed by the provider (constrained requests only)


def cut_at_stop(text: str, stop_seqs: tuple[str, ...] | list[str]) -> tuple[str, bool]:
    """Cut ``text`` before the earliest stop string (excluded, as OpenAI-style APIs do)."""
    hits = [i for i in (text.find(s) for s in stop_seqs if s) if i >= 0]
    return (text[: min(hits)], True) if hits else (text, False)


def format_fallback(messages: list[dict[str, str]]) -> str:
    return "".join(f"{m['role']}: {m['content']}\n" for m in messages) + "assistant:"


class Engine:
    """One loaded checkpoint (model + tokenizer) and its request batcher; shared by all ModelAPIs in a process."""

    def __init__(self, path: Path, device: str) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.path = path
        self.device = device
        self.tokenizer = AutoTokenizer.from_pretrained(str(path))
        self.tokenizer.padding_side = "left"  # decoder-only: new tokens must follow each prompt directly
        self.model = AutoModelForCausalLM.from_pretrained(str(path), dtype=torch.float32).to(device).eval()
        self.has_template = bool(getattr(self.tokenizer, "chat_template", None))
        eos = self.model.generation_config.eos_token_id
        eos_ids = set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
        if self.tokenizer.eos_token_id is not None:
            eos_ids.add(self.tokenizer.eos_token_id)
        self.eos_ids = sorted(eos_ids)
        if self.tokenizer.pad_token_id is None:
            if self.tokenizer.eos_token is not None:
                self.tokenizer.pad_token = self.tokenizer.eos_token
            else:
                self.tokenizer.pad_token_id = 0  # never read back: attention_mask hides it
        self.pad_id = self.tokenizer.pad_token_id
        n_params = sum(p.numel() for p in self.model.parameters())
        # A tiny model's matmuls are too small to split: extra threads only spin, and on a busy machine that
        # made a 1M-parameter model ~40x slower. Larger models keep torch's own thread count.
        self.threads: int | None = 1 if n_params < TINY_MODEL_PARAMS and device == "cpu" else None
        self.batch_sizes: list[int] = []  # one entry per model.generate call, for tests and bench scripts
        self._model_lock = threading.Lock()  # one generate at a time: CPU cores are already all in use
        # The Rust tokenizer is mutated by padding=True; concurrent use from two threads raises "Already borrowed".
        self._tok_lock = threading.Lock()
        self._batcher = Batcher(self.run_batch)
        self._plans = PlanCache()
        forward_args = inspect.signature(self.model.forward).parameters
        self._takes_logits_to_keep = "logits_to_keep" in forward_args
        # transformers 5.2x renamed past_key_values to cache (the old name warns); >= 4.56 has only the old.
        self._cache_arg = "cache" if "cache" in forward_args else "past_key_values"
        config = self.model.config
        # Every layer full attention (no sliding windows, no state-space layers): each layer's cache is plain
        # keys and values, which the reserved cache stores in place.
        self._reserve = not getattr(config, "sliding_window", None) and all(
            t == "full_attention" for t in (getattr(config, "layer_types", None) or ["full_attention"])
        ) and hasattr(config, "num_hidden_layers")

    # -- constrained decoding (constrained.py) ------------------------------------------------------
    def ll_tokenizer(self) -> Any:
        return self._plans.ll_tokenizer(self.tokenizer, self.model.get_output_embeddings().weight.shape[0], self.path)

    def closing_plan(self, lark: str | None, max_new_tokens: int) -> Any:
        return self._plans.plan(lark, max_new_tokens, self.count_tokens)

    def encode(self, text: str) -> list[int]:
        with self._tok_lock:
            return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    # -- prompts -----------------------------------------------------------------------------------
    def format_chat(self, messages: list[ChatMessage]) -> str:
        plain = [{"role": "user" if m.role == "tool" else m.role, "content": m.text} for m in messages]
        if not self.has_template:
            return format_fallback(plain)
        return self.tokenizer.apply_chat_template(plain, tokenize=False, add_generation_prompt=True)

    def count_tokens(self, text: str) -> int:
        with self._tok_lock:
            return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    async def submit(self, prompt: str, params: SamplingParams, batch_size: int, wait_s: float) -> Completion:
        seed = params.seed if params.seed is not None else fresh_seed()
        return await self._batcher.submit((prompt, seed), params.batch_key, batch_size, wait_s)

    # -- the forward pass (worker thread) ----------------------------------------------------------
    def run_batch(self, requests: list[tuple[str, int]], params: SamplingParams) -> list[Completion]:
        """One ``model.generate`` over ``(prompt, seed)`` requests; sampled rows draw from their own seed."""
        import torch
        from transformers import GenerationConfig, LogitsProcessorList, StoppingCriteriaList

        prompts = [prompt for prompt, _ in requests]
        tok = self.tokenizer
        gen_config = GenerationConfig(
            max_new_tokens=params.max_new_tokens,
            do_sample=False,  # sampling, when asked for, is RowSampler's Gumbel-max: argmax picks the sample
            repetition_penalty=params.repetition_penalty,
            eos_token_id=self.eos_ids or None,
            pad_token_id=self.pad_id,
        )
        processors = LogitsProcessorList()
        layout_mask = None
        if params.constraint is not None:
            # Before the sampler: masked tokens get -inf, and each row still draws from its own stream.
            layout_mask = LayoutMask(self, params.constraint, len(requests), 0, params.max_new_tokens)
            processors.append(layout_mask)
        if params.do_sample:
            seeds = [seed for _, seed in requests]
            processors.append(RowSampler(seeds, params.temperature or 1.0, params.top_p, params.top_k, self.device))
        with self._model_lock, torch.no_grad(), _torch_threads(self.threads):
            with self._tok_lock:
                ids = tok(prompts, add_special_tokens=not self.has_template)["input_ids"]
            enc, cache = self._inputs_and_cache(ids, params.max_new_tokens)
            prompt_len = enc["input_ids"].shape[1]
            if layout_mask is not None:
                layout_mask.prompt_len = prompt_len
            # Our own criterion: transformers' stop_strings support breaks on tokenizers that map its probe
            # text to <unk> (word-level vocabularies).
            stopping = StoppingCriteriaList([_StopStrings(self, params.stop_seqs, prompt_len)] if params.stop_seqs else [])
            if cache is not None:
                enc[self._cache_arg] = cache
            out = self.model.generate(
                **enc, generation_config=gen_config, logits_processor=processors, stopping_criteria=stopping
            )
            self.batch_sizes.append(len(prompts))
        input_counts = enc["attention_mask"].sum(dim=1).tolist()
        forced = layout_mask.force_closed if layout_mask is not None else [0] * len(prompts)
        return [
            dataclasses.replace(self._completion(row[prompt_len:].tolist(), int(n_in), params), force_closed=n)
            for row, n_in, n in zip(out.cpu(), input_counts, forced)
        ]

    def _inputs_and_cache(self, ids: list[list[int]], max_new_tokens: int) -> tuple[dict[str, Any], Any]:
        """The batch's inputs, and its KV cache: holding the prompts' longest common token prefix when there
        is one worth sharing, with room reserved for the whole generation where the model allows
        (``_kv_cache.py``); None leaves the cache to transformers.

        A batch of one setting's prompts repeats the same guidelines in every row; prefill was most of a
        generation batch on CPU (43 of 76 s for 16 instance-generation prompts). The shared prefix runs once
        and its cache is copied to every row; each row then prefills only its own suffix. Rows are laid out
        ``prefix | padding | suffix``: positions come from the attention mask, so the padding in the middle
        shifts nothing and is never attended to. Without a shared prefix, rows are left-padded as usual."""
        import torch

        shared = _common_prefix_len(ids) if len(ids) > 1 else 0
        shared = min(shared, min(len(x) for x in ids) - 1)  # every row keeps a token to prefill
        if shared < MIN_SHARED_PREFIX:
            shared = 0
        suffixes = [x[shared:] for x in ids]
        width = max(len(x) for x in suffixes)
        input_ids = [x[:shared] + [self.pad_id] * (width - len(sfx)) + sfx for x, sfx in zip(ids, suffixes)]
        mask = [[1] * shared + [0] * (width - len(sfx)) + [1] * len(sfx) for sfx in suffixes]
        enc = {
            "input_ids": torch.tensor(input_ids, dtype=torch.long, device=self.device),
            "attention_mask": torch.tensor(mask, dtype=torch.long, device=self.device),
        }
        cache = reserved_cache(self.model.config.num_hidden_layers, width + shared + max_new_tokens) if self._reserve else None
        if not shared:
            return enc, cache
        prefix = enc["input_ids"][:1, :shared]
        keep = {"logits_to_keep": 1} if self._takes_logits_to_keep else {}  # the prefix's logits are never read
        reuse = {self._cache_arg: cache} if cache is not None else {}
        out = self.model(input_ids=prefix, use_cache=True, **keep, **reuse)
        cache = out[self._cache_arg]
        cache.batch_repeat_interleave(len(ids))
        return enc, cache

    def _completion(self, ids: list[int], input_tokens: int, params: SamplingParams) -> Completion:
        eos = set(self.eos_ids)
        end = next((i for i, t in enumerate(ids) if t in eos), None)
        if end is not None:
            ids, hit_eos = ids[: end + 1], True
        else:
            hit_eos = False
            while ids and ids[-1] == self.pad_id:  # rows that stopped early are padded to the batch length
                ids = ids[:-1]
        with self._tok_lock:
            text = self.tokenizer.decode(ids, skip_special_tokens=True)
        text, hit_stop = cut_at_stop(text, params.stop_seqs)
        if hit_stop or hit_eos or len(ids) < params.max_new_tokens:
            reason = "stop"
        else:
            reason = "max_tokens"
        return Completion(text, reason, input_tokens, len(ids))


def _common_prefix_len(rows: list[list[int]]) -> int:
    return len(os.path.commonprefix(rows))  # element-wise, so token lists work as well as strings


@contextmanager
def _torch_threads(n: int | None) -> Iterator[None]:
    """Run with ``n`` intra-op threads (process-wide in torch), restoring the previous count afterwards."""
    import torch

    if n is None or n == torch.get_num_threads():
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


class _StopStrings:
    """Stopping criterion: a row is done once the decoded tail of its new tokens contains a stop string."""

    def __init__(self, engine: Engine, stop_seqs: tuple[str, ...], prompt_len: int) -> None:
        self.engine, self.stop_seqs, self.prompt_len = engine, stop_seqs, prompt_len
        # Every step is checked, so a new match ends within the last few tokens (each decodes to >= 1 char).
        self.window = max(len(s) for s in stop_seqs) + 4

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        import torch

        tails = input_ids[:, self.prompt_len :][:, -self.window :].tolist()
        with self.engine._tok_lock:
            texts = self.engine.tokenizer.batch_decode(tails, skip_special_tokens=True)
        done = [any(s in text for s in self.stop_seqs) for text in texts]
        return torch.tensor(done, dtype=torch.bool, device=input_ids.device)


_ENGINES: dict[tuple[Path, str], Engine] = {}
_ENGINES_LOCK = threading.Lock()


def _pick_device(device: str) -> str:
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def get_engine(model: str | Path, device: str = "auto") -> Engine:
    """The process-wide engine for a local model name or checkpoint directory (loaded on first use)."""
    path = resolve_local_model(str(model))
    key = (path, _pick_device(device))
    with _ENGINES_LOCK:  # loading under the lock: two threads must not load the same weights twice
        if key not in _ENGINES:
            _ENGINES[key] = Engine(*key)
        return _ENGINES[key]


class LocalModelAPI(ModelAPI):
    """inspect ModelAPI over an in-process transformers model (registered as ``agora`` by _registry)."""

    def __init__(
        self,
        model_name: str,
        base_url: str | None = None,
        api_key: str | None = None,
        config: GenerateConfig = GenerateConfig(),
        batch_size: int = DEFAULT_BATCH_SIZE,
        batch_wait_ms: float = DEFAULT_BATCH_WAIT_MS,
        device: str = "auto",
        **model_args: Any,
    ) -> None:
        super().__init__(model_name=model_name, base_url=base_url, api_key=api_key, config=config)
        if model_args:
            raise ValueError(
                f"agora provider: unknown model args {sorted(model_args)}; "
                "accepted: batch_size, batch_wait_ms, device"
            )
        self.batch_size = int(batch_size)
        self.batch_wait_s = float(batch_wait_ms) / 1000.0
        self.engine = get_engine(model_name, str(device))

    def max_connections(self) -> int:
        return max(MAX_CONNECTIONS, 2 * self.batch_size)

    def max_tokens(self) -> int | None:
        return DEFAULT_MAX_TOKENS

    async def count_text_tokens(self, text: str) -> int:
        # inspect's default counts with tiktoken, which downloads its vocabulary: not possible offline.
        return self.engine.count_tokens(text)

    async def generate(
        self, input: list[ChatMessage], tools: list[Any], tool_choice: Any, config: GenerateConfig
    ) -> tuple[ModelOutput, ModelCall]:
        prompt = self.engine.format_chat(input)
        params = SamplingParams.from_config(config)
        start = time.monotonic()
        result = await self.engine.submit(prompt, params, self.batch_size, self.batch_wait_s)
        elapsed = time.monotonic() - start
        output = ModelOutput.from_content(model=self.model_name, content=result.text, stop_reason=result.stop_reason)
        output.usage = ModelUsage(
            input_tokens=result.input_tokens,
            output_tokens=result.output_tokens,
            total_tokens=result.input_tokens + result.output_tokens,
        )
        output.time = elapsed
        if params.constraint is not None:
            output.metadata = {FORCE_CLOSED_KEY: result.force_closed}
        call = ModelCall.create(
            request={"model": str(self.engine.path), "prompt": prompt, "params": params.__dict__},
            response={"text": result.text, "stop_reason": result.stop_reason},
            time=elapsed,
        )
        return output, call
