#!/usr/bin/python3
"""
Surface files written the way Li et al.'s loss-landscape code writes them
(github.com/tomgoldstein/loss-landscape, plot_surface.py), with h5py, for the
tests of `skipscape import` and the explorer (tests/unit/fixtures/li-*.h5).

setup_surface_file() and crunch() are followed step by step: the coordinates
from np.linspace, the loss and accuracy arrays created as -np.ones of shape
(len(x), len(y)), the points to compute listed by scheduler.py's
get_unplotted_indices (copied below), and each result stored with
`losses.ravel()[ind] = loss`. Instead of a network, the "loss" at (x, y) is
the analytic f below, which the tests recompute: it is not symmetric in x
and y, so reading the axes the wrong way round fails them.

Run with Debian's h5py:  /usr/bin/python3 scripts/make-li-h5-fixtures.py
"""
import math
import os

import h5py
import numpy as np

OUT = os.path.join(os.path.dirname(__file__), '..', 'tests', 'unit', 'fixtures')

# A direction file name as net_plotter.name_direction_file builds it.
DIR_FILE = ('cifar10/trained_nets/resnet56_noshort_sgd_lr=0.1_bs=128_wd=0.0005/model_300.t7'
            '_weights_xignore=biasbn_xnorm=filter_yignore=biasbn_ynorm=filter.h5')


def f(x, y, split):
    """The stand-in loss; the test split is a little higher, as test losses are."""
    return 0.5 + x * x + 3 * y * y + 0.25 * x + (0.125 if split == 'test' else 0)


def accuracy(loss):
    """Accuracy in percent, as evaluation.eval_loss returns it (100. * correct / total)."""
    return 100.0 * math.exp(-loss)


def get_unplotted_indices(vals, xcoordinates, ycoordinates=None):
    """scheduler.py, verbatim but for comments."""
    inds = np.array(range(vals.size))
    inds = inds[vals.ravel() <= 0]
    if ycoordinates is not None:
        xcoord_mesh, ycoord_mesh = np.meshgrid(xcoordinates, ycoordinates)
        s1 = xcoord_mesh.ravel()[inds]
        s2 = ycoord_mesh.ravel()[inds]
        return inds, np.c_[s1, s2]
    else:
        return inds, xcoordinates.ravel()[inds]


def crunch(f_h5, loss_key, acc_key, split, stop_after=None, diverged=()):
    """crunch() on one process, stopping after `stop_after` points (a killed run)."""
    xcoordinates = f_h5['xcoordinates'][:]
    ycoordinates = f_h5['ycoordinates'][:] if 'ycoordinates' in f_h5.keys() else None
    shape = xcoordinates.shape if ycoordinates is None else (len(xcoordinates), len(ycoordinates))
    losses = -np.ones(shape=shape)
    accuracies = -np.ones(shape=shape)
    f_h5[loss_key] = losses
    f_h5[acc_key] = accuracies
    inds, coords = get_unplotted_indices(losses, xcoordinates, ycoordinates)
    for count, ind in enumerate(inds):
        if stop_after is not None and count >= stop_after:
            break
        coord = coords[count]
        x, y = (coord[0], coord[1]) if ycoordinates is not None else (coord, 0.0)
        loss = float('nan') if count in diverged else f(x, y, split)
        acc = 10.0 if count in diverged else accuracy(loss)
        losses.ravel()[ind] = loss
        accuracies.ravel()[ind] = acc
        f_h5[loss_key][:] = losses
        f_h5[acc_key][:] = accuracies


def surface_file(name, x, y=None):
    """setup_surface_file(): the direction file's name and the coordinates."""
    path = os.path.join(OUT, name)
    if os.path.exists(path):
        os.remove(path)
    f_h5 = h5py.File(path, 'a')
    f_h5['dir_file'] = DIR_FILE
    f_h5['xcoordinates'] = np.linspace(*x)
    if y is not None:
        f_h5['ycoordinates'] = np.linspace(*y)
    return f_h5


os.makedirs(OUT, exist_ok=True)

# 2-D, 5 x 4 (x and y of different lengths): the training split complete but
# for one diverged point (the 7th computed); the test split stopped after 17
# of its 20 points, as a run killed part-way leaves it.
with surface_file('li-2d-5x4.h5', (-1, 1, 5), (-0.5, 1, 4)) as f_h5:
    crunch(f_h5, 'train_loss', 'train_acc', 'train', diverged=(6,))
    crunch(f_h5, 'test_loss', 'test_acc', 'test', stop_after=17)

# 1-D, 7 points: plot_surface.py without --y.
with surface_file('li-1d-7.h5', (-1, 1, 7)) as f_h5:
    crunch(f_h5, 'train_loss', 'train_acc', 'train')
