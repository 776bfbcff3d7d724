"""Train a dialogue summarizer with the shared Ignite engine (python train.py --task summarization).

    python train.py --task summarization --model_fn models/sum --train_fn train.csv --valid_fn dev.csv
    python train.py --task summarization --model_fn models/sum --train_fn train.csv --valid_fn dev.csv \\
        --pretrained_model_name ./kobart-summarization   # fine-tune any seq2seq model (hub name or local dir)

Without --pretrained_model_name a small BART is trained from scratch with a byte-level BPE tokenizer
learned on the training dialogues. Validation writes summaries with generate() (the beam settings
below) and scores them with ROUGE; the best model by --valid_metric is saved with save_pretrained
into the --model_fn directory, which summarize.py loads on its own.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ignite.distributed as idist
from transformers import EncoderDecoderConfig

from simple_ntc.atomic import check_output_dir
from simple_ntc.config import ArgumentParser, parse_args
from simple_ntc.curves import TrainingCurves
from simple_ntc.engine.hooks import all_handlers
from simple_ntc.engine import (
    EngineOptions,
    add_engine_arguments,
    fit,
    is_main_process,
    launch,
    print_on_main,
    read_resume_meta,
    seed_everything,
)
from simple_ntc.engine.resume import RUN_KEY, check_same_run, resumed_seed, run_identity
from simple_ntc.errors import UserError
from simple_ntc.sweep.reporting import sweep_trial_handlers

from .dataset import Dialogue, parse_rows, read_dialogues
from .denoise import DENOISE_MARKER, DenoisingMix, add_denoise_marker
from .features import SequenceFormat, SummarizationDataset, sorted_loader, training_loader
from .token_budget import token_budget_training_loader
from .encoder_decoder import build_encoder_decoder, encoder_decoder_config, position_limit, set_special_ids
from .generate import GenerationSettings
from .model import (
    LAYER_NORMS,
    BartSize,
    SummarizerInfo,
    apply_generation_settings,
    fit_embeddings,
    load_config,
    load_pretrained_config,
    load_pretrained_model,
    load_pretrained_tokenizer,
    model_from_config,
    save_summarizer,
    small_bart_config,
)
from .rouge import TOKENIZERS, get_tokenizer
from .tokenizer import add_tags, find_tags, train_bpe_tokenizer
from .collapse import collapse_warning
from .training import VALID_METRIC_NAMES, GenerateForValidation, training_loss, validation_metrics

BASE_DIR = "base"  # in the checkpoint directory: the tokenizer and model config a resumed run rebuilds
EMBEDDED = "embedded-bart"
# Defaults for an empty --lr / --scheduler: a small BART from scratch keeps its learning rate after
# warmup; a pretrained model is fine-tuned with the usual linear decay.
DEFAULT_LR = {"embedded": 1e-3, "pretrained": 5e-5}
DEFAULT_SCHEDULER = {"embedded": "constant", "pretrained": "linear"}


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(prog="train.py", description=__doc__)
    parser.add_argument("--task", choices=("summarization",), help="the task to train (this parser: summarization)")
    data = parser.add_argument_group("data")
    data.add_argument("--model_fn", metavar="DIR", help="directory to save the trained summarizer in")
    data.add_argument("--train_fn", help="training dialogues: CSV fname,dialogue,summary[,topic] or JSON Lines")
    data.add_argument("--train_rows", metavar="START:END", help="use only these data rows of --train_fn "
                      "(Python slice, header excluded, e.g. 0:400); empty: all")
    data.add_argument("--valid_fn", help="validation dialogues with summaries (same formats); empty: no validation, "
                      "the last weights are saved")
    data.add_argument("--valid_rows", metavar="START:END", help="use only these data rows of --valid_fn (e.g. 400:)")
    data.add_argument("--max_source_length", type=int, help="dialogue tokens kept (longer dialogues are truncated)")
    data.add_argument("--max_target_length", type=int,
                      help="summary tokens trained on (longer summaries are truncated)")
    data.add_argument("--max_tokens", type=int, help="training batches of at most N padded tokens (rows x longest "
                      "dialogue + summary) instead of --batch_size rows, as fairseq does; empty: off")

    model = parser.add_argument_group("model")
    model.add_argument("--pretrained_model_name", help="AutoModelForSeq2SeqLM to fine-tune: local directory or hub "
                       "name (e.g. digit82/kobart-summarization), also an EncoderDecoderModel (bert2bert such as "
                       "kykim/bertshared-kor-base); empty: the embedded small BART trained from scratch")
    model.add_argument("--encoder_decoder_from", metavar="NAME_OR_DIR", help="build a bert2bert: encoder and decoder "
                       "initialized from this BERT-family encoder checkpoint (local directory or hub name), "
                       "cross-attention new (Rothe et al. 2020); trained and saved like a BART; empty: off")
    model.add_argument("--vocab_size", type=int, help="embedded BART: byte-level BPE vocabulary size")
    model.add_argument("--d_model", type=int, help="embedded BART: hidden size")
    model.add_argument("--encoder_layers", type=int, help="embedded BART: encoder layers")
    model.add_argument("--decoder_layers", type=int, help="embedded BART: decoder layers")
    model.add_argument("--attention_heads", type=int, help="embedded BART: attention heads per layer")
    model.add_argument("--ffn_dim", type=int, help="embedded BART: feed-forward inner size")
    model.add_argument("--dropout", type=float, help="embedded BART: dropout probability")
    model.add_argument("--layer_norm", choices=LAYER_NORMS, help="embedded BART: pre (MBart-style layers, "
                       "LayerNorm before each sublayer; keeps the encoder from collapsing on small data) or post "
                       "(the original BART layer)")
    model.add_argument("--copy_attention", action=argparse.BooleanOptionalAction, help="embedded BART: a copy "
                       "mechanism (pointer-generator, See et al. 2017): each summary token is written by the LM head "
                       "or copied from the dialogue, as a learned gate decides, so summaries take the dialogue's "
                       "names and words and depend on it")
    model.add_argument("--label_smoothing", type=float, help="label smoothing of the training cross-entropy "
                       "(0: off); validation losses are never smoothed")
    model.add_argument("--denoise_ratio", type=float, help="BART's text infilling mixed into training: this many "
                       "denoising examples per training dialogue and epoch (pieces of the training dialogues with "
                       "spans masked, to be written back; a <denoise> marker after <s> tells the task, summaries "
                       "get plain sources), so cross-attention learns to read the dialogue; 0: off")
    model.add_argument("--encoder_mlm", type=float, help="share of the training source tokens replaced by <mask> "
                       "that the encoder's own output must name through the tied LM head (a masked-LM loss added to "
                       "the summary loss), so the encoder output cannot stop varying across positions; 0: off")
    model.add_argument("--denoise_mask", type=float, help="share of a denoising piece's tokens hidden in masked "
                       "spans (BART: 0.3)")
    model.add_argument("--decoder_mask_rate", type=float, help="share of the summary tokens fed to the decoder in "
                       "training that are replaced by <mask> (word dropout: the decoder must read the dialogue "
                       "instead of reciting summaries from their first words); 0: off")

    generation = parser.add_argument_group("generation (validation, and the defaults saved for summarize.py)")
    generation.add_argument("--num_beams", type=int, help="beam size of generate()")
    generation.add_argument("--max_length", type=int, help="maximum summary length in tokens")
    generation.add_argument("--no_repeat_ngram_size", type=int, help="forbid repeating n-grams of this size (0: off)")
    generation.add_argument("--length_penalty", type=float, help="beam score length exponent (>1 favours longer)")
    generation.add_argument("--valid_batch_size", type=int, help="dialogues per generate() batch in validation")
    generation.add_argument("--rouge_tokenizer", choices=TOKENIZERS, help="ROUGE tokenization: auto (Kiwi morphemes "
                            "when the text holds Hangul, else words), kiwi, word, or space (pre-tokenized text)")
    add_engine_arguments(parser)
    _summarization_help(parser)
    return parser


def _short(value: float) -> str:
    """1e-3 rather than 0.001 or 1e-03."""
    mantissa, exponent = f"{value:e}".split("e")
    return f"{float(mantissa):g}e{int(exponent)}"


def _summarization_help(parser: ArgumentParser) -> None:
    """The shared engine flags whose empty default depends on the task: say what it is for summarization."""
    helps = {
        "lr": f"peak learning rate; empty: {_short(DEFAULT_LR['embedded'])} for the embedded BART trained from "
              f"scratch, {_short(DEFAULT_LR['pretrained'])} for a pretrained model",
        "scheduler": f"learning-rate schedule, stepped per optimizer update; empty: {DEFAULT_SCHEDULER['embedded']} "
                     f"for the embedded BART, {DEFAULT_SCHEDULER['pretrained']} for a pretrained model",
        "warmup_ratio": "fraction of optimizer updates used for linear warmup",
    }
    for action in parser._actions:
        if action.dest in helps:
            action.help = helps[action.dest]


@dataclass
class TrainJob:
    """Everything a training process needs; picklable for multi-process launch."""

    args: dict[str, Any]
    train: list[Dialogue]
    valid: list[Dialogue] = field(default_factory=list)


def main(argv: list[str], config_dir: Path) -> int | None:
    parser = build_parser()
    args = parse_args(parser, config_dir / "summarization.yaml", argv, required=["model_fn", "train_fn"])
    options = EngineOptions.from_namespace(args)
    options.validate()
    generation_settings(args).validate()
    _check_arguments(args)
    check_output_dir(args.model_fn, "--model_fn")
    check_output_dir(options.resolved_checkpoint_dir(args.model_fn), "--checkpoint_dir")
    train = read_dialogues(args.train_fn, parse_rows(args.train_rows, "--train_rows"), need_summary=True,
                           what="training file")
    valid = []
    if args.valid_fn:
        valid = read_dialogues(args.valid_fn, parse_rows(args.valid_rows, "--valid_rows"), need_summary=True,
                               what="validation file")
        if options.valid_metric not in VALID_METRIC_NAMES:
            raise UserError(f"--valid_metric {options.valid_metric!r} is not computed for summarization; "
                            f"choose from {', '.join(VALID_METRIC_NAMES)}")
    launch(train_worker, TrainJob(vars(args), train, valid), nproc_per_node=options.nproc_per_node,
           backend=options.backend)
    return 0


def _check_arguments(args: argparse.Namespace) -> None:
    positive = ["max_source_length", "max_target_length", "valid_batch_size", "vocab_size", "d_model",
                "encoder_layers", "decoder_layers", "attention_heads", "ffn_dim"]
    for name in positive:
        if getattr(args, name) is None or getattr(args, name) < 1:
            raise UserError(f"--{name} must be a positive integer, got {getattr(args, name)}")
    for name in ("max_source_length", "max_target_length"):
        if getattr(args, name) < 3:
            raise UserError(f"--{name} must be at least 3 (bos, a token, eos), got {getattr(args, name)}")
    if not 0.0 <= args.dropout < 1.0:
        raise UserError(f"--dropout must be in [0, 1), got {args.dropout}")
    if args.denoise_ratio is None or args.denoise_ratio < 0:
        raise UserError(f"--denoise_ratio must be >= 0, got {args.denoise_ratio}")
    for name in ("label_smoothing", "decoder_mask_rate", "denoise_mask", "encoder_mlm"):
        if getattr(args, name) is None or not 0.0 <= getattr(args, name) < 1.0:
            raise UserError(f"--{name} must be in [0, 1), got {getattr(args, name)}")
    if not args.pretrained_model_name and args.d_model % args.attention_heads:
        raise UserError(f"--d_model {args.d_model} must be divisible by --attention_heads {args.attention_heads}")
    if args.max_tokens is not None and args.max_tokens < args.max_source_length + args.max_target_length:
        raise UserError(f"--max_tokens {args.max_tokens} must hold one example of --max_source_length + "
                        f"--max_target_length = {args.max_source_length + args.max_target_length} tokens")
    if args.encoder_decoder_from and args.pretrained_model_name:
        raise UserError("choose --encoder_decoder_from (build a bert2bert from an encoder) or "
                        "--pretrained_model_name (fine-tune a seq2seq model), not both")
    model_fn = Path(args.model_fn)
    if model_fn.exists() and not model_fn.is_dir():
        raise UserError(f"--model_fn {model_fn} is a file; a summarizer is saved as a directory")


def generation_settings(args: argparse.Namespace) -> GenerationSettings:
    return GenerationSettings(num_beams=args.num_beams, max_length=args.max_length,
                              no_repeat_ngram_size=args.no_repeat_ngram_size, length_penalty=args.length_penalty)


def _build_base(args: argparse.Namespace, train: list[Dialogue], base_dir: Path) -> None:
    """Tokenizer (with the data's tags) and model config of a fresh run, saved to ``base_dir``."""
    tags = find_tags(text for d in train for text in (d.dialogue, *d.summaries))
    tokenizer, added = _base_tokenizer(args, train, tags)
    if args.denoise_ratio > 0:  # before the config, which takes the vocabulary size from the tokenizer
        add_denoise_marker(tokenizer)
    config, description = _base_config(args, tokenizer, added, tags, len(train))
    print_on_main(args.verbose, description)
    base_dir.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(base_dir)
    config.save_pretrained(base_dir)


def _base_tokenizer(args: argparse.Namespace, train: list[Dialogue], tags: list[str]):
    """A pretrained model's tokenizer with the tags added (and which were), or a BPE trained on ``train``."""
    name = args.encoder_decoder_from or args.pretrained_model_name
    if name:
        tokenizer = load_pretrained_tokenizer(name)
        return tokenizer, add_tags(tokenizer, tags)
    texts = [text for d in train for text in (d.dialogue, *d.summaries)]
    return train_bpe_tokenizer(texts, args.vocab_size, tags), []


def _base_config(args: argparse.Namespace, tokenizer, added: list[str], tags: list[str], n_train: int):
    """The model config of a fresh run for ``tokenizer``, and a line saying what the model is."""
    added_line = f"{len(added)} tag token(s) added ({', '.join(added) or 'none'})"
    if args.encoder_decoder_from:
        return (encoder_decoder_config(args.encoder_decoder_from, tokenizer),
                f"Encoder-decoder from {args.encoder_decoder_from} (encoder and decoder initialized from it, "
                f"cross-attention new): {added_line}")
    if args.pretrained_model_name:
        config = load_pretrained_config(args.pretrained_model_name)
        if isinstance(config, EncoderDecoderConfig):
            set_special_ids(config, tokenizer)
        config.vocab_size = max(config.vocab_size or 0, len(tokenizer))  # embeddings are resized to the tags
        return config, f"Pretrained model {args.pretrained_model_name}: {added_line}"
    size = BartSize(args.d_model, args.encoder_layers, args.decoder_layers, args.attention_heads, args.ffn_dim,
                    args.dropout, args.layer_norm, args.copy_attention)
    config = small_bart_config(tokenizer, size, max(args.max_source_length, args.max_target_length))
    return config, (f"Embedded BART: byte-level BPE of {len(tokenizer)} tokens trained on {n_train} dialogues, "
                    f"tags {', '.join(tags) or 'none'}")


def resumed_run_meta(checkpoint_dir: Path) -> dict[str, Any]:
    """The metadata of the run that ``--resume`` continues (a :class:`UserError` when there is none)."""
    meta = read_resume_meta(checkpoint_dir)
    if meta is None or not (checkpoint_dir / BASE_DIR / "config.json").is_file():
        raise UserError(f"--resume: no checkpoint to resume from in {checkpoint_dir}")
    if meta.get("task") != "summarization":
        raise UserError(f"--resume: {checkpoint_dir} holds a {meta.get('task', 'different')} run, "
                        "not a summarization one")
    return meta


def prepare_model(args: argparse.Namespace, train: list[Dialogue], checkpoint_dir: Path):
    """Tokenizer and model of this run: fresh ones, or, with --resume, the ones of the checkpointed run."""
    from transformers import AutoTokenizer

    base_dir = checkpoint_dir / BASE_DIR
    if not args.resume and is_main_process():
        _build_base(args, train, base_dir)
    idist.barrier()
    tokenizer = AutoTokenizer.from_pretrained(base_dir)
    if args.encoder_decoder_from and not args.resume:
        model = build_encoder_decoder(args.encoder_decoder_from, tokenizer)
    elif args.pretrained_model_name and not args.resume:
        model = load_pretrained_model(args.pretrained_model_name)
        fit_embeddings(model, tokenizer)
    else:  # the embedded BART, or a resumed run whose weights come from the checkpoint
        model = model_from_config(load_config(base_dir))
    if model.config.decoder_start_token_id is None:
        raise UserError("the model config has no decoder_start_token_id; set it in its config.json")
    positions = position_limit(model.config)
    if positions is not None and max(args.max_source_length, args.max_target_length) > positions:
        raise UserError(f"--max_source_length/--max_target_length exceed the model's {positions} positions")
    return tokenizer, model


class CollapseWatch:
    """Says in plain words, after each validation line and at the end, when summaries ignore their dialogues."""

    def __init__(self, verbose: int) -> None:
        self.verbose = verbose
        self.last: dict[str, float] | None = None
        self.by_epoch: dict[int, dict[str, float]] = {}

    def attach(self, trainer, evaluator) -> None:
        if evaluator is None:
            return
        from ignite.engine import Events

        @evaluator.on(Events.COMPLETED)
        def remember(engine) -> None:
            self.last = {k: float(v) for k, v in engine.state.metrics.items() if isinstance(v, (int, float))}
            self.by_epoch[trainer.state.epoch] = self.last
            warning = collapse_warning(self.last)
            if warning:  # printed after the validation line, which the engine writes once validation returns
                trainer.state.collapse_warning = warning

        def say(engine) -> None:
            warning = getattr(engine.state, "collapse_warning", None)
            if warning:
                print_on_main(self.verbose, f"  {warning}")
                engine.state.collapse_warning = None

        trainer.add_event_handler(Events.ITERATION_COMPLETED, say)
        trainer.add_event_handler(Events.EPOCH_COMPLETED, say)

    def final_report(self, best_epoch: int | None) -> str:
        metrics = self.by_epoch.get(best_epoch, self.last) if best_epoch is not None else self.last
        count, share = metrics.get("distinct_summaries", 0.0), metrics.get("distinct", 0.0)
        total = round(count / share) if share else 0
        line = (f"Input dependence of the saved model: {int(count)} distinct summaries for {total} validation "
                f"dialogues, shuffle_gap={metrics.get('shuffle_gap', float('nan')):.3f} nats per token")
        warning = collapse_warning(metrics)
        return f"{line}\n{warning}" if warning else f"{line} (the summaries depend on the dialogues)"


def train_worker(local_rank: int, job: TrainJob) -> None:
    """One training process (module-level, so ``launch`` can start several)."""
    args = argparse.Namespace(**job.args)
    options = EngineOptions.from_namespace(args)
    checkpoint_dir = options.resolved_checkpoint_dir(args.model_fn)
    base_model = args.pretrained_model_name or (f"bert2bert:{args.encoder_decoder_from}"
                                                if args.encoder_decoder_from else EMBEDDED)
    if args.resume:  # the data order and the defaults follow the run being continued
        resumed = resumed_run_meta(checkpoint_dir)
        options.seed = resumed_seed(resumed, options.seed, args.verbose)
        base_model = resumed.get("base_model", base_model)
    identity = run_identity(options.seed, {"--train_fn": args.train_fn, "--valid_fn": args.valid_fn})
    if args.resume:
        check_same_run(resumed.get(RUN_KEY), identity, checkpoint_dir)
    seed_everything(options.seed)
    tokenizer, model = prepare_model(args, job.train, checkpoint_dir)
    settings = generation_settings(args)
    apply_generation_settings(model, tokenizer, settings)
    print_on_main(args.verbose, f"{len(job.train)} training / {len(job.valid)} validation dialogues; model: "
                  f"{sum(p.numel() for p in model.parameters()) / 1e6:.1f}M parameters")

    fmt = SequenceFormat.of(tokenizer, model.config.decoder_start_token_id)
    train_set = SummarizationDataset(job.train, tokenizer, fmt, args.max_source_length, args.max_target_length)
    mask_id = tokenizer.mask_token_id if tokenizer.mask_token_id is not None else tokenizer.unk_token_id
    marker_id = tokenizer.get_vocab().get(DENOISE_MARKER)
    if args.denoise_ratio > 0:
        if marker_id is None:  # a resumed run that was started without denoising
            raise UserError(f"--denoise_ratio {args.denoise_ratio}: the tokenizer of this run has no {DENOISE_MARKER} "
                            "token (it was started with --denoise_ratio 0); resume with --denoise_ratio 0")
        train_set = DenoisingMix(train_set, fmt, marker_id, mask_id, args.denoise_ratio,
                                 args.denoise_mask, args.max_target_length, options.seed)
        print_on_main(args.verbose, f"Denoising: {len(train_set.pieces)} masked pieces of the training dialogues "
                      f"per epoch beside the {len(job.train)} summaries")
    train_loader = (token_budget_training_loader(train_set, args.max_tokens, options.seed, fmt.pad_id,
                                                 options.num_workers) if args.max_tokens else
                    training_loader(train_set, options.batch_size, options.seed, fmt.pad_id, options.num_workers))
    valid_loader, eval_fn, metrics = None, None, None
    if job.valid:
        valid_set = SummarizationDataset(job.valid, tokenizer, fmt, args.max_source_length, args.max_target_length)
        valid_loader = sorted_loader(valid_set, args.valid_batch_size, fmt.pad_id, options.num_workers)
        rouge_tokenizer = get_tokenizer(args.rouge_tokenizer, [r for d in job.valid for r in d.summaries])
        eval_fn = GenerateForValidation(tokenizer, settings)
        metrics = validation_metrics(rouge_tokenizer)
    kind = "embedded" if base_model == EMBEDDED else "pretrained"
    options = options.with_defaults(lr=DEFAULT_LR[kind], scheduler=DEFAULT_SCHEDULER[kind])
    meta = {"task": "summarization", "base_model": base_model, "seed": options.seed, RUN_KEY: identity,
            "max_source_length": args.max_source_length, "max_target_length": args.max_target_length}
    curves = TrainingCurves()
    watch = CollapseWatch(args.verbose)
    keep_ids = tuple(i for i in (fmt.bos_id, fmt.eos_id, fmt.pad_id, marker_id) if i is not None)
    loss_fn = training_loss(args.label_smoothing, args.decoder_mask_rate, mask_id, args.encoder_mlm, keep_ids)
    result = fit(model, train_loader, loss_fn, options, checkpoint_dir, valid_loader=valid_loader,
                 eval_fn=eval_fn, metrics=metrics, valid_metric_names=VALID_METRIC_NAMES,
                 meta=meta,
                 run_name=Path(args.model_fn).name, run_config=job.args,
                 attach_handlers=all_handlers(sweep_trial_handlers(), watch.attach,
                                              curves.recorder(Path(args.model_fn).name, checkpoint_dir, options).attach))
    if is_main_process():
        info = SummarizerInfo(max_source_length=args.max_source_length, max_target_length=args.max_target_length,
                              generation=vars(settings), tags=find_tags(tokenizer.get_added_vocab()),
                              base_model=meta["base_model"], rouge_tokenizer=args.rouge_tokenizer)
        save_summarizer(model, tokenizer, Path(args.model_fn), info)
        best = (f"best {result.best_metric}={result.best_score:.2f} at epoch {result.best_epoch}"
                if result.best_score is not None else f"weights of epoch {result.epochs_run}")
        print_on_main(args.verbose, f"Saved the summarizer ({best}) to {args.model_fn}")
        if watch.last is not None:
            print_on_main(args.verbose, watch.final_report(result.best_epoch))
        curves.save(args.model_fn, lambda message: print_on_main(args.verbose, message))
    idist.barrier()
