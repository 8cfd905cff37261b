"""seqdraw: draw house-number images from digit strings (Sun et al., seqDRAW).

    import seqdraw
    seqdraw.train(seqdraw.TrainConfig.from_dict({"preset": "seqdraw-cur", "out": "runs/cur"}))
    model = seqdraw.load()                     # or seqdraw.load("runs/cur/final")
    images = model.generate("157", n=8, seed=0).images
    net = seqdraw.ConditionalDRAW.from_pretrained("runs/cur/final").to("cuda")   # the network itself
"""
__version__ = "0.1.0"


def __getattr__(name):
    # torch loads only when these are used, so `seqdraw --help` stays fast
    if name in ("train", "TrainConfig"):
        from seqdraw import trainer
        return getattr(trainer, name)
    if name == "ConditionalDRAW":
        from seqdraw.model import ConditionalDRAW
        return ConditionalDRAW
    if name == "load":
        from seqdraw.generate import load
        return load
    raise AttributeError(f"module 'seqdraw' has no attribute {name!r}")
