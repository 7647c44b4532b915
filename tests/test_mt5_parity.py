"""Exact parity of xlit's mT5 with transformers' (MT5/T5ForConditionalGeneration), both directions.

HF -> xlit: a random torch model (float32, eval) is converted with hf.from_hf_state_dict; xlit ->
HF: random xlit params go through hf.save_hf and transformers' from_pretrained. Both models run
on padded batches (random lengths, decoder inputs = labels shifted right with 0, attention masks);
logits must agree within 1e-4 on non-pad positions and the losses (mean cross-entropy over
non-pad targets) must agree. Configurations vary heads, layers (encoder != decoder), buckets and
max distance (sequences longer than max_distance reach the log-spaced far buckets), a joined
attention width different from d_model, and the tied ReLU T5 1.0 head.
"""
from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from xlit_jax.checkpoints import hf  # noqa: E402
from xlit_jax.models.mt5 import MT5Config, Transformer, init_decoder_cache, param_shapes  # noqa: E402

LOGIT_TOLERANCE = 1e-4


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    config: MT5Config
    encoder_length: int
    decoder_length: int
    hf_class: str = "mt5"  # "mt5" untied MT5; "t5_untied" T5 class with tie_word_embeddings=false; "t5_tied"


CASES = [
    Case("mt5_like", MT5Config(vocab_size=97, emb_dim=32, num_heads=4, head_dim=8, mlp_dim=64,
                               num_encoder_layers=2, num_decoder_layers=2), 24, 16),
    Case("joined_ne_dmodel_far_buckets",
         MT5Config(vocab_size=131, emb_dim=40, num_heads=3, head_dim=12, mlp_dim=56, num_encoder_layers=3,
                   num_decoder_layers=1, relative_attention_num_buckets=8, relative_attention_max_distance=16),
         48, 40),
    Case("many_heads_deep_decoder",
         MT5Config(vocab_size=64, emb_dim=24, num_heads=6, head_dim=4, mlp_dim=40, num_encoder_layers=1,
                   num_decoder_layers=3, relative_attention_num_buckets=16, relative_attention_max_distance=32,
                   layer_norm_epsilon=1e-5),
         70, 36, "t5_untied"),
    Case("t5_1_0_tied_relu",
         MT5Config(vocab_size=80, emb_dim=32, num_heads=2, head_dim=16, mlp_dim=48, num_encoder_layers=2,
                   num_decoder_layers=2, mlp_activations=("relu",), logits_via_embedding=True,
                   relative_attention_num_buckets=12, relative_attention_max_distance=20),
         30, 25, "t5_tied"),
]
MAX_DIFFS: dict[str, float] = {}


def _hf_config(case: Case):
    values = hf.hf_config_dict(case.config)
    values.pop("architectures")
    model_type = values.pop("model_type")
    values["dropout_rate"] = 0.0
    if model_type == "mt5":
        return transformers.MT5Config(**values), transformers.MT5ForConditionalGeneration
    if case.hf_class == "t5_untied":
        values["tie_word_embeddings"] = False
    return transformers.T5Config(**values), transformers.T5ForConditionalGeneration


def random_hf_model(case: Case, seed: int):
    """A transformers model with every weight random (norm scales too), untied head where the case says."""
    config, model_class = _hf_config(case)
    torch.manual_seed(seed)
    model = model_class(config).eval()
    untied = not case.config.logits_via_embedding
    if untied:  # transformers 5 ties at construction; mT5's head is a separate matrix
        model.config.tie_word_embeddings = False
        model.lm_head.weight = torch.nn.Parameter(torch.empty_like(model.shared.weight))
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            noise = torch.randn(param.shape, generator=generator)
            if "layer_norm" in name:
                param.copy_(1.0 + 0.2 * noise)
            elif "relative_attention_bias" in name:
                param.copy_(noise)
            elif name in ("shared.weight", "lm_head.weight"):
                param.copy_(noise)
            else:
                param.copy_(noise / param.shape[1] ** 0.5)
    if untied:
        assert model.lm_head.weight.data_ptr() != model.shared.weight.data_ptr()
    return model


def padded_batch(rng: np.random.Generator, vocab_size: int, batch: int, encoder_length: int, decoder_length: int):
    """Encoder ids, decoder inputs (labels shifted right with 0) and labels, 0-padded to random lengths."""
    encoder_lengths = [encoder_length, 1] + list(rng.integers(1, encoder_length + 1, batch - 2))
    decoder_lengths = [decoder_length, 1] + list(rng.integers(1, decoder_length + 1, batch - 2))
    encoder = rng.integers(2, vocab_size, (batch, encoder_length))
    labels = rng.integers(2, vocab_size, (batch, decoder_length))
    for row in range(batch):
        encoder[row, encoder_lengths[row]:] = 0
        labels[row, decoder_lengths[row]:] = 0
    decoder_inputs = np.concatenate([np.zeros((batch, 1), labels.dtype), labels[:, :-1]], axis=1)
    return encoder, decoder_inputs, labels


def hf_forward(model, encoder, decoder_inputs, labels):
    """(logits, loss) of the torch model with attention masks and -100 on pad labels."""
    with torch.no_grad():
        out = model(input_ids=torch.tensor(encoder), attention_mask=torch.tensor(encoder > 0).long(),
                    decoder_input_ids=torch.tensor(decoder_inputs),
                    decoder_attention_mask=torch.tensor(labels > 0).long(),
                    labels=torch.tensor(np.where(labels > 0, labels, -100)))
    return out.logits.numpy(), float(out.loss)


@jax.jit
def _masked_cross_entropy(logits, labels):
    log_probs = jax.nn.log_softmax(logits, axis=-1)
    target = jnp.take_along_axis(log_probs, labels[..., None], axis=-1)[..., 0]
    mask = labels > 0
    return -jnp.sum(jnp.where(mask, target, 0.0)) / jnp.sum(mask)


def xlit_forward(config: MT5Config, params, encoder, decoder_inputs, labels):
    """(logits, loss) of the xlit model, teacher-forced, without dropout."""
    logits = Transformer(config).apply({"params": params}, jnp.asarray(encoder), jnp.asarray(decoder_inputs),
                                       jnp.asarray(labels), enable_dropout=False)
    return np.asarray(logits), float(_masked_cross_entropy(logits, jnp.asarray(labels)))


def compare(case: Case, direction: str, hf_model, config: MT5Config, params, seed: int) -> float:
    rng = np.random.default_rng(seed)
    encoder, decoder_inputs, labels = padded_batch(rng, config.vocab_size, 4, case.encoder_length,
                                                   case.decoder_length)
    hf_logits, hf_loss = hf_forward(hf_model, encoder, decoder_inputs, labels)
    xlit_logits, xlit_loss = xlit_forward(config, params, encoder, decoder_inputs, labels)
    mask = labels > 0
    diff = float(np.max(np.abs(hf_logits - xlit_logits)[mask]))
    scale = float(np.max(np.abs(hf_logits[mask])))
    MAX_DIFFS[f"{case.name} {direction}"] = diff
    print(f"\n[parity] {case.name:<30} {direction:<10} max|logit diff| = {diff:.3e} "
          f"(max|logit| {scale:.1f}); loss hf {hf_loss:.6f} xlit {xlit_loss:.6f}")
    assert diff < LOGIT_TOLERANCE, f"{case.name} {direction}: max abs logit difference {diff}"
    assert xlit_loss == pytest.approx(hf_loss, rel=1e-5, abs=1e-5)
    return diff


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hf_to_xlit_parity(case: Case):
    hf_model = random_hf_model(case, seed=1)
    state = hf_model.state_dict()
    params, config = hf.from_hf_state_dict(state, hf_model.config.to_dict(), "random HF model")
    expected = dataclasses.replace(case.config, dropout_rate=0.0)
    assert config == expected
    compare(case, "hf->xlit", hf_model, config, params, seed=2)


def random_xlit_params(config: MT5Config, seed: int) -> dict:
    """Random float32 params in xlit's tree (shapes from the model itself), norm scales random too."""
    rng = np.random.default_rng(seed)

    def draw(path, shape):
        name = jax.tree_util.keystr(path)
        noise = rng.standard_normal(shape.shape).astype(np.float32)
        if "scale" in name:
            return 1.0 + 0.2 * noise
        if "embedding" in name or "logits_dense" in name:  # token table, head, relative-position tables
            return noise
        return noise / np.float32(shape.shape[0] ** 0.5)

    return jax.tree_util.tree_map_with_path(draw, param_shapes(config))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_xlit_to_hf_parity(case: Case, tmp_path):
    config = case.config
    params = random_xlit_params(config, seed=3)
    hf.save_hf(params, config, tmp_path / "hf")
    model = transformers.AutoModelForSeq2SeqLM.from_pretrained(tmp_path / "hf").eval()
    if config.logits_via_embedding:
        assert type(model).__name__ == "T5ForConditionalGeneration"
        assert model.lm_head.weight.data_ptr() == model.shared.weight.data_ptr()
    else:
        assert type(model).__name__ == "MT5ForConditionalGeneration"
        model.config.tie_word_embeddings = False
        assert model.lm_head.weight.data_ptr() != model.shared.weight.data_ptr()
        np.testing.assert_array_equal(model.lm_head.weight.detach().numpy(),
                                      np.asarray(params["decoder"]["logits_dense"]["kernel"]).T)
    np.testing.assert_array_equal(model.shared.weight.detach().numpy(),
                                  np.asarray(params["token_embedder"]["embedding"]))
    np.testing.assert_array_equal(model.encoder.embed_tokens.weight.detach().numpy(),
                                  np.asarray(params["token_embedder"]["embedding"]))
    compare(case, "xlit->hf", model, config, params, seed=4)


def test_parity_covers_far_buckets():
    """At least one case has sequences longer than max_distance (the log-spaced buckets saturate)."""
    assert any(c.encoder_length > c.config.relative_attention_max_distance
               and c.decoder_length > c.config.relative_attention_max_distance for c in CASES)


def test_hf_mt5_tied_head_parity():
    """transformers 5's MT5 class with tied embeddings uses shared.weight unscaled: converted, logits agree."""
    case = Case("mt5_class_tied_unscaled", CASES[0].config, 20, 12)
    config, model_class = _hf_config(case)
    torch.manual_seed(5)
    model = model_class(config).eval()
    assert model.lm_head.weight.data_ptr() == model.shared.weight.data_ptr()
    params, converted = hf.from_hf_state_dict(model.state_dict(), dict(model.config.to_dict(), tie_word_embeddings=True),
                                              "tied MT5")
    assert not converted.logits_via_embedding
    compare(case, "hf->xlit", model, converted, params, seed=6)


def xlit_greedy(config: MT5Config, params, encoder, steps: int):
    """Greedy tokens (pad and EOS suppressed) and per-step logits from xlit's cached one-token decode."""
    model = Transformer(config)
    encoded = model.apply({"params": params}, jnp.asarray(encoder), enable_dropout=False, method=Transformer.encode)
    cache = init_decoder_cache(model, params, encoder.shape[0], steps, encoder.shape[1])
    token = jnp.zeros((encoder.shape[0],), jnp.int32)
    tokens, step_logits = [], []
    for _ in range(steps):
        logits, mutated = model.apply({"params": params, "cache": cache}, encoded, jnp.asarray(encoder),
                                      token[:, None], token[:, None], enable_dropout=False, decode=True,
                                      max_decode_length=steps, mutable=["cache"], method=Transformer.decode)
        cache = mutated["cache"]
        step_logits.append(np.asarray(logits[:, 0]))
        token = jnp.argmax(logits[:, 0].at[:, :2].set(-jnp.inf), axis=-1).astype(jnp.int32)  # never pad/EOS
        tokens.append(np.asarray(token))
    return np.stack(tokens, 1), np.stack(step_logits, 1)


@pytest.mark.parametrize("case", [CASES[1], CASES[3]], ids=[CASES[1].name, CASES[3].name])
def test_greedy_decoding_with_cache_matches_transformers_generate(case: Case):
    """xlit's cached decode steps give transformers' greedy tokens, and its logits match HF's."""
    steps = case.decoder_length // 2  # 20 steps > max_distance 16 in the far-bucket case
    hf_model = random_hf_model(case, seed=7)
    params, config = hf.from_hf_state_dict(hf_model.state_dict(), hf_model.config.to_dict(), "random HF model")
    encoder, _, _ = padded_batch(np.random.default_rng(8), config.vocab_size, 3, case.encoder_length, 2)
    tokens, step_logits = xlit_greedy(config, params, encoder, steps)
    with torch.no_grad():
        generated = hf_model.generate(input_ids=torch.tensor(encoder), attention_mask=torch.tensor(encoder > 0).long(),
                                      max_new_tokens=steps, min_new_tokens=steps, do_sample=False, num_beams=1,
                                      eos_token_id=None, suppress_tokens=[0, 1]).numpy()
    # generate starts with decoder_start_token_id 0; both sides suppress pad and EOS, so all rows run `steps`.
    np.testing.assert_array_equal(generated[:, 1:], tokens)
    hf_logits, _ = hf_forward(hf_model, encoder, generated[:, :-1], generated[:, 1:])
    diff = float(np.max(np.abs(hf_logits[..., 2:] - step_logits[..., 2:])))
    MAX_DIFFS[f"{case.name} greedy"] = diff
    print(f"\n[parity] {case.name:<30} {'cached-decode':<13} {steps} greedy steps equal; "
          f"max|logit diff| = {diff:.3e}")
    assert diff < LOGIT_TOLERANCE
