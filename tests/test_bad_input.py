"""Every bad input is a one-line error: a table of cases, each run through the real CLI entry point
(seqdraw.cli.main, what the `seqdraw` script calls), each asserting a non-zero exit, no traceback and
at most 3 lines on stderr. Add a case here whenever a new one is found (docs/reliability.md)."""
import io
import json
import os
import zipfile

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings, strategies as st
from safetensors.torch import save_file

from conftest import TINY_FILE
from seqdraw.model.pretrained import save_model
from seqdraw.cli import main
from seqdraw.cli.train import parse_overrides
from seqdraw.data.labels import parse_number
from seqdraw.data.synth import SynthConfig, write_dataset
from seqdraw.data.synth_set import SynthSet
from seqdraw.errors import SeqdrawError
from seqdraw.readers import build_reader, save_reader
from seqdraw.model import ConditionalDRAW, preset
from seqdraw.trainer import TrainConfig, train

MODEL_FLAGS = [f"--set=model.{k}={v}" for k, v in TINY_FILE.items()]


def shard(n=8, **change):
    d = {"images": np.zeros((n, 32, 64), np.uint8), "labels": np.full((n, 5), -1, np.int8),
         "lengths": np.ones(n, np.int8), "boxes": np.zeros((n, 5, 4), np.float32)}
    d["labels"][:, 0] = 3
    d.update(change)
    return d


@pytest.fixture(scope="module")
def w(tmp_path_factory):
    """The files the cases point at: good ones to combine with bad flags, and bad ones of every kind."""
    root = tmp_path_factory.mktemp("world")
    p = {"root": root}
    p["data"] = root / "data"
    p["data"].mkdir()
    write_dataset(p["data"], SynthSet(40, 0.25, 0), SynthConfig(length_probs=(1.0, 1.0, 1.0)))
    torch.manual_seed(0)
    p["model"] = root / "model.safetensors"
    save_model(p["model"], ConditionalDRAW(preset("seqdraw", **TINY_FILE)), extra={"max_len": 3})
    p["rnn"] = root / "rnn.safetensors"
    save_model(p["rnn"], ConditionalDRAW(preset("rnndraw", **TINY_FILE)), extra={"max_len": 3})
    p["reader"] = root / "reader.safetensors"
    save_reader(p["reader"], build_reader("multidigit", width=4), {"trained_on": "none"})
    p["ctc"] = root / "ctc.safetensors"
    save_reader(p["ctc"], build_reader("ctc", width=4, hidden=4), {"trained_on": "none"})
    # model files with bad metadata
    tensors = {k: v.contiguous() for k, v in ConditionalDRAW(preset("seqdraw", **TINY_FILE)).state_dict().items()}
    config = preset("seqdraw", **TINY_FILE).to_dict()
    bad_meta = {
        "meta_maxlen": {"model_config": json.dumps(config), "max_len": '"x"'},
        "meta_maxlen_big": {"model_config": json.dumps(config), "max_len": "9"},
        "meta_temp": {"model_config": json.dumps(config), "temperature": '"hot"'},
        "meta_temp_neg": {"model_config": json.dumps(config), "temperature": "-1"},
        "meta_enc": {"model_config": json.dumps({**config, "enc_size": "abc"})},
        "meta_config_list": {"model_config": "[1, 2]"},
        "meta_unknown": {"model_config": json.dumps({**config, "bogus": 1})},
        "meta_json": {"model_config": "{not json"},
        "meta_none": {},
        "meta_shapes": {"model_config": json.dumps({**config, "enc_size": 8})},
    }
    for name, meta in bad_meta.items():
        p[name] = root / f"{name}.safetensors"
        save_file(tensors, str(p[name]), metadata=meta)
    p["empty_file"] = root / "empty.safetensors"
    p["empty_file"].write_bytes(b"")
    p["corrupt"] = root / "corrupt.safetensors"
    p["corrupt"].write_bytes(os.urandom(300))
    p["cfg_deep"] = root / "cfg_deep.json"
    p["cfg_deep"].write_text("[" * 200_000 + "]" * 200_000)
    p["cfg_binary"] = root / "cfg_binary.json"
    p["cfg_binary"].write_bytes(bytes(range(256)) * 4)
    good = ConditionalDRAW(preset("seqdraw", **TINY_FILE)).state_dict()
    from seqdraw.model.pretrained import write_safetensors
    meta = {"model_config": json.dumps(ConditionalDRAW(preset("seqdraw", **TINY_FILE)).config.to_dict()), "max_len": "3"}
    nan = {k: v.clone() for k, v in good.items()}
    nan["write_patch.weight"][0, 0] = float("nan")
    p["m_nan"] = root / "m_nan.safetensors"
    write_safetensors(nan, p["m_nan"], meta)
    p["m_int"] = root / "m_int.safetensors"
    write_safetensors({k: (v * 100).to(torch.int32) if k == "prior.weight" else v for k, v in good.items()},
                      p["m_int"], meta)
    reader_tensors = build_reader("multidigit", width=4).state_dict()
    for name, meta_over in (("r_arch_list", {"arch": "[1, 2]"}), ("r_width_text", {"multidigit": '{"width": "abc"}'}),
                            ("r_width_negative", {"multidigit": '{"width": -5}'}),
                            ("r_trained_on_int", {"trained_on": "7"})):
        meta_r = {"arch": '"multidigit"', "multidigit": '{"width": 4}', **meta_over}
        p[name] = root / f"{name}.safetensors"
        write_safetensors(reader_tensors, p[name], meta_r)
    p["m_guides_int"] = root / "m_guides_int.safetensors"
    write_safetensors(good, p["m_guides_int"], {**meta, "guides": "7", "trained_on": '"abc"'})
    p["file"] = root / "a_file"
    p["file"].write_text("x")
    p["dir"] = root / "a_dir"
    p["dir"].mkdir()
    p["full_dir"] = root / "full_dir"
    p["full_dir"].mkdir()
    (p["full_dir"] / "keep.txt").write_text("mine")
    # data folders that are wrong in one way each
    bad_data = {
        "d_empty": (shard(0), shard(0)),
        "d_shape": (shard(images=np.zeros((8, 32, 32), np.uint8)), shard()),
        "d_dtype": (shard(images=np.zeros((8, 32, 64), np.float32)), shard()),
        "d_labels": (shard(labels=np.full((8, 5), 12, np.int8)), shard()),
        "d_lengths": (shard(lengths=np.full(8, 7, np.int8)), shard()),
        "d_mismatch": (shard(lengths=np.ones(5, np.int8)), shard()),
        "d_pad": (shard(labels=np.full((8, 5), 3, np.int8)), shard()),
        "d_labels_text": (shard(labels=np.full((8, 5), "3")), shard()),
        "d_labels_float": (shard(labels=np.where(np.arange(5) < 1, 3.7, -1.0)[None].repeat(8, 0)), shard()),
        "d_lengths_float": (shard(lengths=np.ones(8, np.float32)), shard()),
        "d_images_0d": (shard(images=np.array(0, np.uint8)), shard()),
        "d_boxes_nan": (shard(boxes=np.full((8, 5, 4), np.nan, np.float32)), shard()),
        "d_boxes_text": (shard(boxes=np.full((8, 5, 4), "x")), shard()),
    }
    for name, (tr, te) in bad_data.items():
        p[name] = root / name
        p[name].mkdir()
        np.savez(p[name] / "train.npz", **tr)
        np.savez(p[name] / "test.npz", **te)
    for name, content in (("d_random", os.urandom(500)), ("d_text", b"hello")):
        p[name] = root / name
        p[name].mkdir()
        (p[name] / "train.npz").write_bytes(content)
        (p[name] / "test.npz").write_bytes(content)
    p["d_pickle"] = root / "d_pickle"
    p["d_pickle"].mkdir()
    for split in ("train", "test"):
        np.savez(p["d_pickle"] / f"{split}.npz", images=np.array([{"a": 1}], dtype=object))
    p["d_forged"] = root / "d_forged"                    # a header that claims a 2 PiB array in a small file
    p["d_forged"].mkdir()
    for split in ("train", "test"):
        with zipfile.ZipFile(p["d_forged"] / f"{split}.npz", "w") as zf:
            head = io.BytesIO()
            np.lib.format.write_array_header_1_0(head, {"descr": "|u1", "fortran_order": False, "shape": (2**51,)})
            zf.writestr("images.npy", head.getvalue() + b"\0" * 16)
    p["d_missing_test"] = root / "d_missing_test"
    p["d_missing_test"].mkdir()
    np.savez(p["d_missing_test"] / "train.npz", **shard())
    # config files
    for name, text in (("cfg_list", "[1, 2]"), ("cfg_corrupt", "{oops"), ("cfg_unknown", '{"bogus": 1}'),
                       ("cfg_type", '{"lr": "abc"}'), ("cfg_gone", '{"kl_weight": 0.5}'),
                       ("cfg_model_list", '{"model": [1]}'), ("cfg_null", "null")):
        p[name] = root / f"{name}.json"
        p[name].write_text(text)
    # a real run with a checkpoint, for the --resume cases
    p["run"] = root / "run"
    cfg = TrainConfig.from_dict(dict(out=str(p["run"]), data=str(p["data"]), epochs=1, batch_size=8, max_len=3,
                                     val_size=4, checkpoint_every=1, compile=False, model=TINY_FILE))
    from seqdraw.data.shards import load_splits
    train(cfg, data=load_splits(str(p["data"])), stop_after=2, progress=False)
    p["run_listcfg"] = root / "run_listcfg"
    p["run_listcfg"].mkdir()
    (p["run_listcfg"] / "config.json").write_text("[]")
    p["crops_bad"] = root / "crops_bad.npz"
    np.savez(p["crops_bad"], images=np.zeros((4, 8, 8), np.uint8))
    return p


GEN = ["generate", "12", "--model", "{model}", "--out", "{out}/o.png"]
TRAIN = ["train", "--data", "{data}", "--out", "{out}/run", "--compile", "false", "--max-len", "3"] + MODEL_FLAGS
SYNTH = ["data", "synth", "--out", "{out}/d", "--workers", "1"]
EVAL = ["evaluate", "--model", "{model}", "--data", "{data}", "--out", "{out}/e", "--judge", "{reader}"]
CTRAIN = ["classifier", "train", "--data", "{data}", "--out", "{out}/c", "--epochs", "1"]

CASES = {
    # ---- top level
    "no command": [],
    "classifier eval arch a list": ["classifier", "eval", "--model", "{r_arch_list}", "--data", "{data}/test.npz"],
    "classifier eval width text": ["classifier", "eval", "--model", "{r_width_text}", "--data", "{data}/test.npz"],
    "classifier eval width negative": ["classifier", "eval", "--model", "{r_width_negative}", "--data", "{data}/test.npz"],
    "classifier eval trained_on an int": ["classifier", "eval", "--model", "{r_trained_on_int}", "--data",
                                          "{data}/test.npz"],
    "train init guides mistyped": TRAIN + ["--init", "{m_guides_int}"],
    "generate model with NaN weights": ["generate", "7", "--model", "{m_nan}", "--out", "{out}/x.png"],
    "generate model with integer weights": ["generate", "7", "--model", "{m_int}", "--out", "{out}/x.png"],
    "export model with NaN weights": ["export", "--onnx", "{out}/onnx", "--model", "{m_nan}"],
    "train init with NaN weights": TRAIN + ["--init", "{m_nan}"],
    "generate lengths weights 1e308": ["data", "generated", "--n", "4", "--lengths", "1e308,1e308", "--model", "{model}",
                                       "--out", "{out}/d"],
    "synth lengths weights 1e308": ["data", "synth", "--n", "10", "--lengths", "1e308,1e308", "--out", "{out}/d"],
    # ---- generate: what is at --out is never replaced unasked (issue 36)
    "generate out exists": ["generate", "7", "--model", "{model}", "--out", "{file}"],
    "generate out is the model": ["generate", "7", "--model", "{model}", "--out", "{model}", "--overwrite"],
    "generate out and process one file": ["generate", "7", "--model", "{model}", "--out", "{out}/a.png",
                                          "--process", "{out}/a.png"],
    "generate out empty": ["generate", "7", "--model", "{model}", "--out", ""],
    "generate out jpg": ["generate", "7", "--model", "{model}", "--out", "{out}/x.jpg"],
    "generate gif to a device": ["generate", "7", "--model", "{model}", "--out", "{out}/x.png", "--gif", "/dev/null"],
    "generate out a directory": ["generate", "7", "--model", "{model}", "--out", "{root}"],
    "unknown command": ["draw"],
    # ---- data synth
    "synth n text": SYNTH + ["--n", "abc"],
    "synth n negative": SYNTH + ["--n", "-3"],
    "synth n zero": SYNTH + ["--n", "0"],
    "synth n one": SYNTH + ["--n", "1"],
    "synth n float": SYNTH + ["--n", "1e9"],
    "synth n huge": SYNTH + ["--n", "99999999999"],
    "synth empty train split": SYNTH + ["--n", "2", "--test-fraction", "0.9"],
    "synth seed negative": SYNTH + ["--seed", "-1"],
    "synth seed text": SYNTH + ["--seed", "abc"],
    "synth seed huge": SYNTH + ["--seed", "99999999999999999999999"],
    "synth fraction 0": SYNTH + ["--test-fraction", "0"],
    "synth fraction 1": SYNTH + ["--test-fraction", "1"],
    "synth fraction nan": SYNTH + ["--test-fraction", "nan"],
    "synth fraction text": SYNTH + ["--test-fraction", "half"],
    "synth lengths bogus": SYNTH + ["--lengths", "bogus"],
    "synth lengths uniform:9": SYNTH + ["--lengths", "uniform:9"],
    "synth lengths uniform:x": SYNTH + ["--lengths", "uniform:x"],
    "synth lengths uniform:0": SYNTH + ["--lengths", "uniform:0"],
    "synth lengths negative weight": SYNTH + ["--lengths", "1,-1"],
    "synth lengths all zero": SYNTH + ["--lengths", "0,0"],
    "synth lengths six weights": SYNTH + ["--lengths", "1,1,1,1,1,1"],
    "synth lengths nan": SYNTH + ["--lengths", "nan"],
    "synth lengths empty": SYNTH + ["--lengths", ""],
    "synth workers 257": SYNTH + ["--workers", "257"],
    "synth workers text": SYNTH + ["--workers", "two"],
    "synth fonts missing": SYNTH + ["--fonts", "{root}/no-fonts"],
    "synth fonts empty folder": SYNTH + ["--fonts", "{dir}"],
    "synth fonts a file": SYNTH + ["--fonts", "{file}"],
    "synth out is a file": ["data", "synth", "--out", "{file}"],
    "synth out under a file": ["data", "synth", "--out", "{file}/sub"],
    "synth out exists": ["data", "synth", "--out", "{full_dir}", "--n", "4"],
    "synth unknown flag": SYNTH + ["--bogus"],
    # ---- data svhn
    "svhn root is a file": ["data", "svhn", "--root", "{file}"],
    "svhn no archive": ["data", "svhn", "--root", "{out}/s"],
    "svhn bad split": ["data", "svhn", "--root", "{out}/s", "--splits", "bogus"],
    "svhn max-len 0": ["data", "svhn", "--root", "{out}/s", "--max-len", "0"],
    "svhn max-len 9": ["data", "svhn", "--root", "{out}/s", "--max-len", "9"],
    "svhn no root": ["data", "svhn"],
    "svhn splits given empty": ["data", "svhn", "--root", "{out}/s", "--splits"],
    "demo port 0": ["demo", "--port", "0"],
    "demo port text": ["demo", "--port", "http"],
    "demo share not a bool": ["demo", "--share", "maybe"],
    "svhn corrupt archive": ["data", "svhn", "--root", "{out}/corrupt_archive", "--splits", "train"],
    "svhn unverified extra": ["data", "svhn", "--root", "{out}/extra_archive", "--splits", "extra"],
    "svhn csv missing": ["data", "svhn", "--root", "{out}/csv", "--csv", "{root}/no-csv", "--splits", "train"],
    # ---- train: flags
    "train lr text": TRAIN + ["--lr", "abc"],
    "train lr negative": TRAIN + ["--lr", "-1"],
    "train lr zero": TRAIN + ["--lr", "0"],
    "train lr nan": TRAIN + ["--lr", "nan"],
    "train lr inf": TRAIN + ["--lr", "inf"],
    "train epochs text": TRAIN + ["--epochs", "abc"],
    "train epochs zero": TRAIN + ["--epochs", "0"],
    "train epochs negative": TRAIN + ["--epochs", "-1"],
    "train batch float": TRAIN + ["--batch-size", "1.5"],
    "train batch zero": TRAIN + ["--batch-size", "0"],
    "train seed negative": TRAIN + ["--seed", "-1"],
    "train seed huge": TRAIN + ["--seed", "1" + "0" * 30],
    "train max-len 0": TRAIN + ["--max-len", "0"],
    "train max-len 6": TRAIN + ["--max-len", "6"],
    "train curriculum bogus": TRAIN + ["--curriculum", "bogus"],
    "train preset bogus": TRAIN + ["--preset", "bogus"],
    "train replay 1": TRAIN + ["--replay", "1"],
    "train replay 1.2": TRAIN + ["--replay", "1.2"],
    "train replay negative": TRAIN + ["--replay", "-0.1"],
    "train max-steps negative": TRAIN + ["--max-steps", "-1"],
    "train warmup zero": TRAIN + ["--warmup-steps", "0"],
    "train grad-clip zero": TRAIN + ["--grad-clip", "0"],
    "train digit-weight below 1": TRAIN + ["--digit-weight", "0.5"],
    "train guide-weight zero": TRAIN + ["--guide-weight", "0"],
    "train style pool zero": TRAIN + ["--style-match-pool", "0"],
    "train keep zero": TRAIN + ["--keep", "0"],
    "train checkpoint-every zero": TRAIN + ["--checkpoint-every", "0"],
    "train val-size zero": TRAIN + ["--val-size", "0"],
    "train synth-n zero": TRAIN + ["--synth-n", "0"],
    "train compile maybe": TRAIN + ["--compile", "maybe"],
    "train threads negative": TRAIN + ["--threads", "-1"],
    "train threads text": TRAIN + ["--threads", "two"],
    "train threads more than the cores": TRAIN + ["--threads", str(len(os.sched_getaffinity(0)) + 1)],
    "train val-every negative": TRAIN + ["--val-every", "-5"],
    # ---- train: --set
    "set lr text": TRAIN + ["--set", "lr=abc"],
    "set epochs text": TRAIN + ["--set", "epochs=abc"],
    "set batch float": TRAIN + ["--set", "batch_size=1.5"],
    "set model enc text": TRAIN + ["--set", "model.enc_size=abc"],
    "set model enc zero": TRAIN + ["--set", "model.enc_size=0"],
    "set model unknown": TRAIN + ["--set", "model.bogus=1"],
    "set unknown": TRAIN + ["--set", "bogus=1"],
    "set max_steps negative": TRAIN + ["--set", "max_steps=-3"],
    "set compile maybe": TRAIN + ["--set", "compile=maybe"],
    "set no equals": TRAIN + ["--set", "lr"],
    "set model whole": TRAIN + ["--set", "model=3"],
    "set kl_weight gone": TRAIN + ["--set", "kl_weight=0.5"],
    "set guide_margin gone": TRAIN + ["--set", "guide_margin=1"],
    "set diversity gone": TRAIN + ["--set", "diversity_weight=1"],
    "set write_max_stride gone": TRAIN + ["--set", "model.write_max_stride=2"],
    "set label_encoder bogus": TRAIN + ["--set", "model.label_encoder=cnn"],
    "set label_attention bogus": TRAIN + ["--set", "model.label_attention=bogus"],
    "set schedule_spread 2": TRAIN + ["--set", "model.schedule_spread=2"],
    "set y_size mismatch": TRAIN + ["--set", "model.y_size=7"],
    "set log_sigma_limit zero": TRAIN + ["--set", "model.log_sigma_limit=0"],
    "set position bogus": TRAIN + ["--set", "model.position_from=middle"],
    "set device tpu": TRAIN + ["--set", "device=tpu"],
    "set model height against the data": TRAIN + ["--set", "model.height=16"],
    "set lr inf": TRAIN + ["--set", "lr=inf"],
    "set replay nan": TRAIN + ["--set", "replay=nan"],
    "style match without guide": TRAIN + ["--style-match-weight", "1"],
    "guide missing": TRAIN + ["--guide", "{root}/no-guide.safetensors"],
    "guide is ctc": TRAIN + ["--guide", "{ctc}"],
    "guide is a model": TRAIN + ["--guide", "{model}"],
    "guide corrupt": TRAIN + ["--guide", "{corrupt}"],
    # ---- train: files
    "train data missing": ["train", "--data", "{root}/no-data", "--out", "{out}/r", "--compile", "false"],
    "train data empty": ["train", "--data", "{d_empty}", "--out", "{out}/r", "--compile", "false"],
    "train data random bytes": ["train", "--data", "{d_random}", "--out", "{out}/r", "--compile", "false"],
    "train data text": ["train", "--data", "{d_text}", "--out", "{out}/r", "--compile", "false"],
    "train data wrong shape": ["train", "--data", "{d_shape}", "--out", "{out}/r", "--compile", "false"],
    "train data wrong dtype": ["train", "--data", "{d_dtype}", "--out", "{out}/r", "--compile", "false"],
    "train data labels as text": ["train", "--data", "{d_labels_text}", "--out", "{out}/r", "--compile", "false"],
    "train data labels as floats": ["train", "--data", "{d_labels_float}", "--out", "{out}/r", "--compile", "false"],
    "train data lengths as floats": ["train", "--data", "{d_lengths_float}", "--out", "{out}/r", "--compile", "false"],
    "train data 0-d images": ["train", "--data", "{d_images_0d}", "--out", "{out}/r", "--compile", "false"],
    "train data NaN boxes": ["train", "--data", "{d_boxes_nan}", "--out", "{out}/r", "--compile", "false"],
    "train data boxes as text": ["train", "--data", "{d_boxes_text}", "--out", "{out}/r", "--compile", "false"],
    "train data forged 2 PiB header": ["train", "--data", "{d_forged}", "--out", "{out}/r", "--compile", "false"],
    "train data labels out of range": ["train", "--data", "{d_labels}", "--out", "{out}/r", "--compile", "false"],
    "train data lengths out of range": ["train", "--data", "{d_lengths}", "--out", "{out}/r", "--compile", "false"],
    "train data mismatched arrays": ["train", "--data", "{d_mismatch}", "--out", "{out}/r", "--compile", "false"],
    "train data digits past length": ["train", "--data", "{d_pad}", "--out", "{out}/r", "--compile", "false"],
    "train data pickled": ["train", "--data", "{d_pickle}", "--out", "{out}/r", "--compile", "false"],
    "train data no test split": ["train", "--data", "{d_missing_test}", "--out", "{out}/r", "--compile", "false"],
    "train data is a file": ["train", "--data", "{file}", "--out", "{out}/r", "--compile", "false"],
    "config missing": TRAIN + ["--config", "{root}/no.json"],
    "config list": TRAIN + ["--config", "{cfg_list}"],
    "config null": TRAIN + ["--config", "{cfg_null}"],
    "config corrupt": TRAIN + ["--config", "{cfg_corrupt}"],
    "config nested too deeply": TRAIN + ["--config", "{cfg_deep}"],
    "strings endless": ["data", "generated", "--n", "4", "--strings", "/dev/zero", "--model", "{model}", "--out", "{out}/d"],
    "config endless": TRAIN + ["--config", "/dev/zero"],
    "config binary": TRAIN + ["--config", "{cfg_binary}"],
    "config unknown key": TRAIN + ["--config", "{cfg_unknown}"],
    "config wrong type": TRAIN + ["--config", "{cfg_type}"],
    "config gone key": TRAIN + ["--config", "{cfg_gone}"],
    "config model list": TRAIN + ["--config", "{cfg_model_list}"],
    "config is a folder": TRAIN + ["--config", "{dir}"],
    "resume missing": ["train", "--resume", "{root}/no-run"],
    "resume list config": ["train", "--resume", "{run_listcfg}"],
    "resume a file": ["train", "--resume", "{file}"],
    "resume changes the model": ["train", "--resume", "{run}", "--set", "model.enc_size=8"],
    "resume changes lr": ["train", "--resume", "{run}", "--lr", "0.5"],
    "resume with config": ["train", "--resume", "{run}", "--config", "{cfg_unknown}"],
    "resume bad epochs": ["train", "--resume", "{run}", "--epochs", "0"],
    "out is a file": TRAIN[:3] + ["--out", "{file}", "--compile", "false"],
    "out holds a run": TRAIN[:3] + ["--out", "{run}", "--compile", "false"],
    "out holds other files": TRAIN[:3] + ["--out", "{full_dir}", "--compile", "false"],
    "init missing": TRAIN + ["--init", "{root}/no-model.safetensors"],
    "init corrupt": TRAIN + ["--init", "{corrupt}"],
    "init is a reader": TRAIN + ["--init", "{reader}"],
    "init other architecture": TRAIN + ["--init", "{rnn}"],
    # ---- generate
    "generate letters": ["generate", "12a", "--model", "{model}", "--out", "{out}/o.png"],
    "generate empty string": ["generate", "", "--model", "{model}", "--out", "{out}/o.png"],
    "generate spaces": ["generate", " ", "--model", "{model}", "--out", "{out}/o.png"],
    "generate negative number": ["generate", "-5", "--model", "{model}", "--out", "{out}/o.png"],
    "generate too long": ["generate", "1234", "--model", "{model}", "--out", "{out}/o.png"],
    "generate unicode digits": ["generate", "١٢", "--model", "{model}", "--out", "{out}/o.png"],
    "generate no numbers": ["generate", "--model", "{model}"],
    "generate n zero": GEN + ["--n", "0"],
    "generate n huge": GEN + ["--n", "100000000"],
    "generate n text": GEN + ["--n", "many"],
    "generate grid too large": GEN + ["--n", "10000", "--scale", "16"],
    "generate scale zero": GEN + ["--scale", "0"],
    "generate scale huge": GEN + ["--scale", "100000"],
    "generate temperature inf": GEN + ["--temperature", "inf"],
    "generate temperature negative": GEN + ["--temperature", "-1"],
    "generate temperature nan": GEN + ["--temperature", "nan"],
    "generate temperature text": GEN + ["--temperature", "hot"],
    "generate style temperature text": GEN + ["--style-temperature", "hot"],
    "generate seed negative": GEN + ["--seed", "-1"],
    "generate seed huge": GEN + ["--seed", "99999999999999999999999"],
    "generate model missing": ["generate", "12", "--model", "{root}/no.safetensors", "--out", "{out}/o.png"],
    "generate model corrupt": ["generate", "12", "--model", "{corrupt}", "--out", "{out}/o.png"],
    "generate model empty file": ["generate", "12", "--model", "{empty_file}", "--out", "{out}/o.png"],
    "generate model is a folder without model": ["generate", "12", "--model", "{dir}", "--out", "{out}/o.png"],
    "generate model is a reader": ["generate", "12", "--model", "{reader}", "--out", "{out}/o.png"],
    "metadata max_len text": ["generate", "12", "--model", "{meta_maxlen}", "--out", "{out}/o.png"],
    "metadata max_len 9": ["generate", "12", "--model", "{meta_maxlen_big}", "--out", "{out}/o.png"],
    "metadata temperature text": ["generate", "12", "--model", "{meta_temp}", "--out", "{out}/o.png"],
    "metadata temperature negative": ["generate", "12", "--model", "{meta_temp_neg}", "--out", "{out}/o.png"],
    "metadata enc_size text": ["generate", "12", "--model", "{meta_enc}", "--out", "{out}/o.png"],
    "metadata config a list": ["generate", "12", "--model", "{meta_config_list}", "--out", "{out}/o.png"],
    "metadata unknown key": ["generate", "12", "--model", "{meta_unknown}", "--out", "{out}/o.png"],
    "metadata not json": ["generate", "12", "--model", "{meta_json}", "--out", "{out}/o.png"],
    "metadata none": ["generate", "12", "--model", "{meta_none}", "--out", "{out}/o.png"],
    "metadata shapes differ": ["generate", "12", "--model", "{meta_shapes}", "--out", "{out}/o.png"],
    "generate out is a folder": ["generate", "12", "--model", "{model}", "--out", "{dir}"],
    "generate out under a file": ["generate", "12", "--model", "{model}", "--out", "{file}/o.png"],
    "generate process is a folder": GEN + ["--process", "{dir}"],
    "generate gif is a folder": GEN + ["--gif", "{dir}"],
    "generate attention under a file": GEN + ["--attention", "{file}/a.png"],
    "generate attention without attention": ["generate", "12", "--model", "{rnn}", "--out", "{out}/o.png",
                                             "--attention", "{out}/a.png"],
    "generate --random: now data generated": ["generate", "12", "--random", "10", "--model", "{model}", "--out", "{out}/d"],
    "dataset out is a png": ["data", "generated", "--n", "10", "--model", "{model}", "--out", "{out}/d.png"],
    "dataset no out": ["data", "generated", "--n", "10", "--model", "{model}"],
    "dataset n zero": ["data", "generated", "--n", "0", "--model", "{model}", "--out", "{out}/d"],
    "dataset n text": ["data", "generated", "--n", "many", "--model", "{model}", "--out", "{out}/d"],
    "dataset lengths beyond the model": ["data", "generated", "--n", "10", "--lengths", "uniform:5", "--model", "{model}",
                                         "--out", "{out}/d"],
    "generate --strings: now data generated": ["generate", "--strings", "{file}", "--model", "{model}", "--out", "{out}/d"],
    "dataset strings missing": ["data", "generated", "--n", "10", "--strings", "{root}/none.txt", "--model", "{model}",
                                "--out", "{out}/d"],
    "dataset strings not digits": ["data", "generated", "--n", "10", "--strings", "{file}", "--model", "{model}",
                                   "--out", "{out}/d"],
    "dataset out exists": ["data", "generated", "--n", "10", "--model", "{model}", "--out", "{full_dir}"],
    "dataset format bogus": ["data", "generated", "--n", "10", "--model", "{model}", "--out", "{out}/d", "--format", "csv"],
    "dataset test fraction 1": ["data", "generated", "--n", "10", "--model", "{model}", "--out", "{out}/d",
                                "--test-fraction", "1"],
    "dataset with process": ["data", "generated", "--n", "10", "--model", "{model}", "--out", "{out}/d",
                             "--process", "{out}/p.png"],
    "export no folder": ["export", "--model", "{model}"],
    "export onnx is a file": ["export", "--onnx", "{file}", "--model", "{model}"],
    "export onnx exists": ["export", "--onnx", "{full_dir}", "--model", "{model}"],
    "export model missing": ["export", "--onnx", "{out}/x", "--model", "{root}/no.safetensors"],
    "export model corrupt": ["export", "--onnx", "{out}/x", "--model", "{corrupt}"],
    "synth format bogus": SYNTH + ["--format", "csv"],
    # ---- classifier
    "classifier data missing": ["classifier", "train", "--data", "{root}/no-data", "--out", "{out}/c"],
    "classifier data empty": ["classifier", "train", "--data", "{d_empty}", "--out", "{out}/c"],
    "classifier data corrupt": ["classifier", "train", "--data", "{d_random}", "--out", "{out}/c"],
    "classifier lr nan": CTRAIN + ["--lr", "nan"],
    "classifier lr zero": CTRAIN + ["--lr", "0"],
    "classifier epochs zero": CTRAIN + ["--epochs", "0"],
    "classifier batch zero": CTRAIN + ["--batch-size", "0"],
    "classifier arch bogus": CTRAIN + ["--arch", "bogus"],
    "classifier width zero": CTRAIN + ["--width", "0"],
    "classifier seed negative": CTRAIN + ["--seed", "-1"],
    "classifier out is a file": ["classifier", "train", "--data", "{data}", "--out", "{file}"],
    "classifier out exists": ["classifier", "train", "--data", "{data}", "--out", "{full_dir}"],
    "classifier eval model missing": ["classifier", "eval", "--model", "{root}/no.safetensors",
                                      "--data", "{data}/test.npz"],
    "classifier eval model is a draw model": ["classifier", "eval", "--model", "{model}", "--data", "{data}/test.npz"],
    "classifier eval data corrupt": ["classifier", "eval", "--model", "{reader}", "--data", "{d_random}/test.npz"],
    "classifier eval data missing": ["classifier", "eval", "--model", "{reader}", "--data", "{root}/no.npz"],
    # ---- evaluate
    "evaluate per-length negative": EVAL + ["--per-length", "-5"],
    "evaluate per-length zero": EVAL + ["--per-length", "0"],
    "evaluate critic images 1": EVAL + ["--critic-images", "1"],
    "evaluate critic steps zero": EVAL + ["--critic-steps", "0"],
    "evaluate reconstructions zero": EVAL + ["--reconstructions", "0"],
    "evaluate usefulness negative": EVAL + ["--usefulness", "-1"],
    "evaluate variety zero": EVAL + ["--variety-strings", "0"],
    "evaluate temperature negative": EVAL + ["--temperature", "-1"],
    "evaluate seed negative": EVAL + ["--seed", "-1"],
    "evaluate data empty": ["evaluate", "--model", "{model}", "--data", "{d_empty}", "--out", "{out}/e"],
    "evaluate data missing": ["evaluate", "--model", "{model}", "--data", "{root}/no-data", "--out", "{out}/e"],
    "evaluate data corrupt": ["evaluate", "--model", "{model}", "--data", "{d_random}", "--out", "{out}/e"],
    "evaluate model missing": ["evaluate", "--model", "{root}/no.safetensors", "--data", "{data}", "--out", "{out}/e"],
    "evaluate model corrupt": ["evaluate", "--model", "{corrupt}", "--data", "{data}", "--out", "{out}/e"],
    "evaluate judge missing": ["evaluate", "--model", "{model}", "--data", "{data}", "--out", "{out}/e",
                               "--judge", "{root}/no.safetensors"],
    "evaluate judge is a draw model": ["evaluate", "--model", "{model}", "--data", "{data}", "--out", "{out}/e",
                                       "--judge", "{model}"],
    "evaluate out is a file": ["evaluate", "--model", "{model}", "--data", "{data}", "--out", "{file}"],
    "evaluate out exists": ["evaluate", "--model", "{model}", "--data", "{data}", "--out", "{full_dir}"],
    "evaluate real crops missing": EVAL + ["--usefulness", "10", "--real-crops", "{root}/no.npz"],
    "evaluate real crops wrong shape": EVAL + ["--usefulness", "10", "--real-crops", "{crops_bad}"],
    # ---- reproduce table2
    "table2 max-steps zero": ["reproduce", "table2", "--data", "{data}", "--out", "{out}/t", "--max-steps", "0"],
    "table2 max-len 9": ["reproduce", "table2", "--data", "{data}", "--out", "{out}/t", "--max-len", "9"],
    "table2 data missing": ["reproduce", "table2", "--data", "{root}/no-data", "--out", "{out}/t"],
    "table2 set unknown": ["reproduce", "table2", "--data", "{data}", "--out", "{out}/t", "--set", "bogus=1"],
    "table2 out is a file": ["reproduce", "table2", "--data", "{data}", "--out", "{file}"],
    "table2 no experiment": ["reproduce"],
}


def run_cli(argv):
    try:
        return main(argv)
    except SystemExit as e:
        return e.code


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_one_line(name, w, tmp_path, capsys):
    out = tmp_path / "out"
    (out / "corrupt_archive").mkdir(parents=True)
    (out / "corrupt_archive" / "train.tar.gz").write_bytes(b"not an archive")
    (out / "extra_archive").mkdir()
    (out / "extra_archive" / "extra.tar.gz").write_bytes(b"whatever")
    (out / "csv" / "train").mkdir(parents=True)
    before = {p: p.stat().st_mtime_ns for p in w["root"].rglob("*") if p.is_file()}
    argv = [a.format(out=out, **w) for a in CASES[name]]
    code = run_cli(argv)
    err = capsys.readouterr().err
    lines = [line for line in err.replace("\r", "\n").splitlines() if line.strip() and "%|" not in line]
    assert code not in (0, None), f"{name}: exit 0\n{err}"
    assert "Traceback" not in err, err
    assert 1 <= len(lines) <= 3, err
    after = {p: p.stat().st_mtime_ns for p in w["root"].rglob("*") if p.is_file()}
    assert before == after, f"{name}: changed the files it was given"


def test_there_are_many_cases():
    assert len(CASES) >= 130


# ---- properties -----------------------------------------------------------------------------------------

@given(st.text(max_size=8))
@settings(max_examples=300, deadline=None)
def test_any_text_is_a_number_or_a_clean_error(text):
    try:
        number = parse_number(text, 5)
    except SeqdrawError as e:
        assert "\n" not in str(e)
        return
    assert 1 <= len(number) <= 5 and all(c in "0123456789" for c in number)


FIELDS = [f"{k}" for k in TrainConfig.__dataclass_fields__ if k != "model"] + \
         [f"model.{k}" for k in preset("seqdraw").to_dict()]


@given(st.sampled_from(FIELDS), st.text(max_size=12) | st.integers().map(str) | st.floats().map(str))
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_set_value_is_accepted_or_a_clean_error(key, value):
    try:
        overrides = parse_overrides([f"{key}={value}"])
        TrainConfig.from_dict({**overrides, "model": overrides.get("model", {})})
    except SeqdrawError as e:
        assert "\n" not in str(e) and len(str(e)) < 400
