"""What a method declares (:class:`Method`, :class:`Param`) and what its hooks exchange.

A method is one :class:`Method` object: its name, texts, parameters, the
scopes and dtypes it supports, and up to three *hooks*, plain NumPy
functions that say how it maps pixels.  The engine
(:mod:`histeq_gui.core.engine`) counts and maps the pixels with generic
compiled loops; a hook only turns a group of histograms into a map:

``nodes(counts, edges, dtype, params) -> Nodes``
    Interpolation nodes per sample from the counts of equal-width bins
    (``counts`` of shape (samples, bins), ``edges`` (samples, bins + 1) in
    the bin dtype, exactly as ``np.histogram`` makes them).  Each pixel gets
    ``np.interp(x, xp, fp) / scale`` (``numpy``, ``skimage``).
``table(cells, params) -> ndarray``
    One output value in [0, 1] per *cell* per sample, shape (samples,
    cells): a cell is an integer value (for the dtypes in
    ``value_cells`` of at most ``value_bits`` bits: the method ignores
    ``bins`` there) or an equal-width bin; each pixel takes its cell's value
    (``opencv``, ``imagej``, ``textbook``; ``skimage`` on integers).  See
    :class:`Cells`.
``image(pixels, mask, params) -> ndarray``
    A whole-image function (CLAHE, matching): one (H, W) image in, float64
    (H, W) in [0, 1] out; the engine calls it once per image and channel.
    Such a method has only the "image" scope.  Non-finite pixels come in as
    they are (the hook decides what they do to the others) and go out NaN.
    It may also have a ``table`` hook for the integer kinds in
    ``value_cells`` (matching: a table per image over integer values), which
    the engine's compiled loops then count and map as for a table method.
``images(pixels, params, out) -> None``
    Optional, for a whole-image method: many images at once.  ``pixels`` is
    an ``(n, H, W)`` C-contiguous block of whole images of one dtype and one
    channel, ``out`` an ``(n, H, W)`` float64 array to fill with, for each
    ``i``, exactly what ``image(pixels[i], None, params)`` gives.  The
    engine hands it blocks of about a million pixels over its thread pool
    when no mask is given (``image`` otherwise), never an image without a
    finite pixel, and restores NaN at the non-finite pixels as for
    ``image``.
``curve(pixels, mask, params) -> Curve``
    Optional, for a whole-image method whose result is a function of each
    pixel's value (matching, not CLAHE): that function, for the plots
    (:func:`~histeq_gui.core.equalize.histogram` returns it as the
    transfer curve).

The ``table`` and ``nodes`` hooks may also be written as loops over ONE
sample in numba's subset of Python (:class:`RowLoop`, fields ``table_loop``
and ``nodes_loop``).  The engine compiles them when it first needs them and
runs them inside its own compiled loop over 8-bit images without a mask:
each image is counted, its table built and its pixels looked up in one pass
while the image is in cache, with no Python between images.  A loop must
give, bit for bit, what its hook gives for that sample's row; the hook
stays the reference (and what the NumPy loops use while numba compiles):

``table_loop(counts, level0, levels, args, out)``
    ``counts`` (int64, one per cell) are the counts of consecutive integer
    values, the first of level ``level0`` (``levels`` as in
    :class:`Cells`); ``args`` (float64) are the method's parameters as
    :attr:`RowLoop.args` gives them; ``out`` (float64, one per cell) gets
    what ``table`` gives for this sample.
``nodes_loop(counts, edges, args, fp)``
    ``counts`` (int64, one per bin) of ``bins`` equal-width bins with
    ``edges`` (float64, ``bins + 1``); ``fp`` (float64, one per bin) gets
    the node values that ``nodes`` gives at the LEFT edges (its ``Nodes``
    with ``anchor="left"``, ``scale`` :attr:`RowLoop.scale` and float64
    rounding for integer images).

A parameter may be *stack-aware* (:class:`Param`'s ``resolve``): a value such as
"the whole stack" or "image 3 of the stack" that the engine turns into one
plain value per channel against the images being equalized
(:class:`StackView`) before calling the hook, which gets its channel's.

Importing this module (or the registry) imports NumPy only: the compiled
loops and scikit-image load when a method is first applied.
"""

from __future__ import annotations

import inspect
import math
import os
import re
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..histogram import MAX_BINS, MIN_BINS, check_bins

__all__ = ["Param", "Method", "Nodes", "Cells", "Curve", "StackView", "StackStream", "RowLoop",
           "how_from_docstring", "bins_param", "round_half_up", "image_from_images", "KIND_NAMES",
           "SCOPES"]

KIND_NAMES = {"u": "unsigned integer", "i": "signed integer", "f": "floating point"}
#: Every scope a method may support: each image its own histogram, or one for the stack.
SCOPES = ("image", "stack")


@dataclass(frozen=True)
class Param:
    """One parameter of a method.

    Attributes
    ----------
    name : str
        The keyword of ``equalize(..., name=value)`` (and ``--name`` later).
    default : int, float, str, object or callable
        The value used when none is given; or a function ``default(dtype,
        bins)`` of the images' dtype and the resolved ``bins`` when the
        default depends on them (``textbook``'s ``levels``: 256 for uint8,
        ``bins`` for floats).  :meth:`default_for` gives the value.
    type : type
        ``int``, ``float``, ``str``, or ``object`` for anything else (an
        image array, say), checked by ``validate``.
    help : str
        One line for tooltips and ``--help``.
    low, high : float, optional
        Inclusive range of numbers (``low`` excluded with ``low_open``).
    choices : tuple of str, optional
        The values a ``str`` parameter takes; for an ``int`` or ``float``
        parameter, words accepted besides the numbers (``"auto"``).
    dtypes : str
        Kinds (``numpy.dtype.kind``: "u", "i", "f") of the images the
        parameter is used for; for the others it is accepted and ignored
        (as ``skimage`` ignores ``bins`` for integer images).
    default_text : str
        The default in words, for help and the README (needed when
        ``default`` is a function).
    low_open : bool
        True when ``low`` itself is not allowed (a clip limit above 0).
    text : str, optional
        What a valid ``object`` value is, in words (:meth:`describe`).
    validate : callable, optional
        ``validate(value) -> value`` for ``type=object``: the value to use,
        or a one-line ValueError naming the parameter (:meth:`check` adds
        the method's name).
    resolve : callable, optional
        Makes the parameter *stack-aware*: ``resolve(value, stack) ->
        tuple`` turns a valid value into one plain value per channel of the
        images being equalized (a :class:`StackView`, or a
        :class:`StackStream` for a stack read piece by piece, which answers
        the same questions: ``channels``, ``images``, ``layout``,
        ``pieces()``, ``image(i)``, ``channel(c)``), before the hook
        runs; it must accept its own results again (so a value resolved
        against a whole stack can be passed on for parts of it).  Only
        whole-image methods have stack-aware parameters.
    files : bool
        True when a path (:class:`os.PathLike`) is a valid value too: it
        names an image file that the caller's edge reads and passes on as
        an array (:func:`histeq_gui.core.param_files.read_file_params`:
        ``equalize``, the export, ``histeq``, the viewer).  The method
        itself never sees the path, so the registry needs no file reading.
    """

    name: str
    default: object
    type: type
    help: str
    low: float | None = None
    high: float | None = None
    choices: tuple | None = None
    dtypes: str = "uif"
    default_text: str = ""
    low_open: bool = False
    text: str | None = None
    validate: Callable | None = field(default=None, repr=False)
    resolve: Callable | None = field(default=None, repr=False)
    files: bool = False

    def __post_init__(self):
        if self.type is object and (self.validate is None or not self.text):
            raise ValueError(f"parameter {self.name}: type=object needs validate and text")

    def used_for(self, dtype):
        """True if the parameter changes the result for images of ``dtype``."""
        return np.dtype(dtype).kind in self.dtypes

    def default_for(self, dtype, bins=256):
        """The default value for images of ``dtype`` (and ``bins`` bins)."""
        if callable(self.default):
            return self.default(np.dtype(dtype), bins)
        return self.default

    def describe_default(self):
        """The default in words: ``default_text``, else its ``repr``."""
        return self.default_text or repr(self.default)

    def describe(self):
        """What a valid value is, in words: "a whole number from 1 to 65536".

        Examples
        --------
        >>> Param("clip", 0.01, float, "clip limit", low=0, high=1, low_open=True).describe()
        'a number above 0 and at most 1'
        >>> Param("k", "auto", int, "size", low=1, choices=("auto",)).describe()
        "a whole number of at least 1, or 'auto'"
        """
        if self.type is object:
            return self.text
        if self.type is str:
            return "one of " + ", ".join(repr(c) for c in self.choices or ())
        what = "a whole number" if self.type is int else "a number"
        low, high = self.low, self.high
        if low is not None and high is not None:
            what += (f" above {_number(low)} and at most {_number(high)}" if self.low_open
                     else f" from {_number(low)} to {_number(high)}")
        elif low is not None:
            what += f" above {_number(low)}" if self.low_open else f" of at least {_number(low)}"
        elif high is not None:
            what += f" of at most {_number(high)}"
        if self.choices:
            what += ", or " + " or ".join(repr(c) for c in self.choices)
        return what

    def check(self, value, method=""):
        """``value`` as the parameter's type if valid, else a one-line ValueError.

        Examples
        --------
        >>> Param("clip", 0.01, float, "clip limit", low=0, high=1).check(0.5)
        0.5
        >>> Param("clip", 0.01, float, "clip limit", low=0, high=1).check(2, "clahe")
        Traceback (most recent call last):
        ...
        ValueError: clahe: clip must be a number from 0 to 1, got 2
        """
        prefix = f"{method}: " if method else ""
        if self.files and isinstance(value, os.PathLike):
            return value                # read at the edge (param_files), checked there
        if self.type is object:
            try:
                return self.validate(value)
            except ValueError as exc:
                raise ValueError(f"{prefix}{exc}") from None
        bad = ValueError(f"{prefix}{self.name} must be {self.describe()}, got {value!r}")
        if self.type is str:
            if not isinstance(value, str) or (self.choices and value not in self.choices):
                raise bad
            return value
        if isinstance(value, str) and self.choices and value in self.choices:
            return value
        if isinstance(value, (bool, np.bool_)):
            raise bad
        if self.type is int:
            if not isinstance(value, (int, np.integer)):
                raise bad
            value = int(value)
        else:
            if not isinstance(value, (int, float, np.integer, np.floating)):
                raise bad
            value = float(value)
            if not math.isfinite(value):
                raise bad
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            raise bad
        if self.high is not None and value > self.high:
            raise bad
        return value


_ROLE = re.compile(r":[\w:]+:`(~?)([^`<]*?)(?:\s*<([^`>]*)>)?`")
_ITEM = re.compile(r"(- |\d+\. )")


def _markdown_inline(text):
    """ReST inline markup as Markdown: ``code`` and roles become code spans.

    An asterisk inside a word (``2**53`` outside code) is escaped: reST reads
    it as text, Markdown would start emphasis there.
    """
    def role(match):
        tilde, shown, target = match.groups()
        if target:                              # :func:`text <target>`
            return shown
        return f"`{shown.split('.')[-1] if tilde else shown}`"
    parts = re.split(r"(`[^`]*`)", _ROLE.sub(role, text).replace("``", "`"))
    return "".join(part if part.startswith("`") else
                   re.sub(r"(?<=[\w)])\*+(?=[\w(])", lambda m: "\\*" * len(m.group()), part)
                   for part in parts)


def how_from_docstring(doc):
    """A method module's docstring, less its title line, as Markdown: the method's ``how``.

    A method is explained once, in its module's docstring (reST: the
    developer's reference and the documentation's API page); the viewer's
    help and the documentation's methods page show the same text through
    :attr:`Method.how`.  Paragraphs stay paragraphs, list items stay items,
    an indented block stays a code block, and ``code`` and roles become code
    spans.

    Examples
    --------
    >>> print(how_from_docstring('''``demo``: a title.
    ...
    ... Each pixel becomes ``x ** 2``; see :func:`~numpy.square`.
    ...
    ... - **uint8**: as it is,
    ...   exactly.
    ... '''))
    Each pixel becomes `x ** 2`; see `square`.
    <BLANKLINE>
    - **uint8**: as it is, exactly.
    """
    blocks = re.split(r"\n\s*\n", inspect.cleandoc(doc or "").strip())[1:]
    out = []
    for block in blocks:
        lines = block.splitlines()
        if all(line.startswith("    ") for line in lines):
            out.append("\n".join(lines))       # an indented (literal) block, as it is
            continue
        items = []
        for line in lines:
            if _ITEM.match(line) or not items:
                items.append(line.strip())
            else:
                items[-1] += " " + line.strip()
        out.append("\n".join(_markdown_inline(item) for item in items))
    return "\n\n".join(out)


def _number(x):
    if float(x).is_integer() and x >= 2 ** 20 and int(x) & (int(x) - 1) == 0:
        return f"2**{int(x).bit_length() - 1}"         # 2**64, not 18446744073709551616
    return str(int(x)) if float(x).is_integer() else str(x)


def bins_param(dtypes="uif", low=MIN_BINS, help=None):
    """The ``bins`` parameter every binning method shares (range 1..65536)."""
    return Param("bins", 256, int, help or "number of equal-width histogram bins",
                 low=low, high=MAX_BINS, dtypes=dtypes)


def round_half_up(x):
    """The nearest integer of each value, halves rounded up (towards +inf), as float64.

    ``floor(x) + 1`` where ``x - floor(x) >= 0.5`` (a difference that is
    exact for ``|x| < 2**52``): ``floor(x + 0.5)`` taken exactly (adding
    0.5 to 0.49999999999999994 rounds to 1.0 in float64).  This is Java's
    ``Math.round`` and the textbook's "rounded to the nearest integer";
    ``np.rint`` rounds halves to even instead.  NaN stays NaN.

    Examples
    --------
    >>> round_half_up([0.5, 1.5, 2.5, -0.5, 0.49999999999999994, 2.4]).tolist()
    [1.0, 2.0, 3.0, 0.0, 0.0, 2.0]
    """
    x = np.asarray(x, np.float64)
    whole = np.floor(x)
    return whole + (x - whole >= 0.5)


@dataclass
class Nodes:
    """The piecewise linear map ``np.interp(x, xp, fp) / scale`` of each sample.

    Attributes
    ----------
    xp, fp : ndarray of float64, shape (samples, nodes)
        Interpolation nodes (``xp`` increasing).
    scale : float
        Divisor of the interpolated value (255 for the seed recipe).
    rounding : numpy.dtype
        The result is rounded to this dtype before being returned as float64
        (float32 where scikit-image returns float32).
    anchor : {"left", "centre"}
        Where the nodes sit in their bins: at the LEFT edges (node ``k`` is
        bin ``k``'s left edge, the last bin is flat) or at the CENTRES.
    """

    xp: np.ndarray
    fp: np.ndarray
    scale: float = 1.0
    rounding: np.dtype = np.dtype(np.float64)
    anchor: str = "left"

    @property
    def cdf(self):
        """The normalized CDF in [0, 1] at ``xp`` (what the plots draw)."""
        return (self.fp / self.scale).astype(self.rounding).astype(np.float64)


@dataclass
class Cells:
    """The histograms a ``table`` hook turns into one output value per cell.

    Attributes
    ----------
    counts : ndarray of int64, shape (samples, cells)
        Selected pixels per cell, cells in increasing order of value.
    level : ndarray of float64, shape (samples or 1, cells)
        The level of each cell in ``0 .. levels - 1``: for integer cells the
        value minus the dtype's minimum (uint8 0..255, int8 -128 -> 0), for
        bins the bin number.  Cells may skip levels (integers absent from a
        wide-ranged image are left out: they hold no pixel).
    levels : float
        Number of levels: ``2 ** bits`` for integer cells, ``bins`` for bins.
    by_value : bool
        True for integer cells, False for bins.
    dtype : numpy.dtype
        The images' dtype.
    value : ndarray of float64, shape (samples or 1, cells)
        Each cell's value as float64 (integer cells; beyond 2**53 distinct
        integers may round to the same float64) or its bin's left edge.
    """

    counts: np.ndarray
    level: np.ndarray
    levels: float
    by_value: bool
    dtype: np.dtype
    value: np.ndarray | None = None


@dataclass
class Curve:
    """The map of a whole-image method whose result depends on each pixel's value only.

    Returned by a ``curve`` hook for one sample; the plots draw ``counts``
    over ``edges`` as the histogram and ``x -> y`` as the transfer curve.

    Attributes
    ----------
    counts : ndarray of int64, shape (K,)
        Selected finite pixels per cell (a cell per value).
    edges : ndarray of float64, shape (K + 1,)
        The cells' edges.
    x : ndarray of float64, shape (K,)
        Each cell's value.
    y : ndarray of float64, shape (K,)
        What a pixel of value ``x`` becomes, in [0, 1].
    """

    counts: np.ndarray
    edges: np.ndarray
    x: np.ndarray
    y: np.ndarray


@dataclass(frozen=True)
class StackView:
    """The images a stack-aware parameter is resolved against (see :class:`Param`'s ``resolve``).

    Attributes
    ----------
    rows : ndarray, shape (channels * images, H * W)
        One row per image and channel, channel by channel: rows ``c *
        images`` to ``(c + 1) * images - 1`` are channel ``c``.  A view of
        the pixels (a memory map stays one).
    mask : ndarray of bool or None
        The user's mask broadcast to ``rows``, or None.
    channels : int
        Number of colour channels (1 for grayscale).
    layout : Layout
        The layout of the array given to the API (its shape and channel
        axis), for references given as arrays.
    """

    rows: np.ndarray
    mask: np.ndarray | None
    channels: int
    layout: object

    @property
    def images(self):
        """Number of images (rows per channel)."""
        return self.rows.shape[0] // self.channels

    def channel(self, c):
        """``(rows, mask)`` of channel ``c`` (mask None without a mask)."""
        n = self.images
        mask = None if self.mask is None else self.mask[c * n:(c + 1) * n]
        return self.rows[c * n:(c + 1) * n], mask

    def pieces(self):
        """The stack in pieces of whole images, for a resolver that reads every pixel.

        Yields, per piece, a list over channels of ``(rows, mask)``; the
        pieces hold every image once, in order.  Here the stack is in memory:
        one piece.  A :class:`StackStream` yields several, so a resolver
        written with ``pieces`` works on a stack of any size.
        """
        yield [self.channel(c) for c in range(self.channels)]

    def image(self, i):
        """Image ``i`` (``0 <= i < images``) of every channel: a list of ``(row, mask row)``."""
        out = []
        for c in range(self.channels):
            rows, mask = self.channel(c)
            out.append((rows[i], None if mask is None else mask[i]))
        return out


@dataclass(frozen=True)
class StackStream:
    """A stack read piece by piece, resolved against as a :class:`StackView` is.

    The export streams stacks larger than memory; it resolves stack-aware
    parameters against one of these (``match``'s reference ``"stack"``: one
    read pass, memory for one piece and the reference; an index: one image
    read).  It has no mask.

    Attributes
    ----------
    images : int
        Number of images (rows per channel).
    channels : int
        Number of colour channels (1 for grayscale).
    layout : Layout
        The stack's layout (its shape and channel axis).
    dtype : numpy.dtype
        The pixels' dtype, native byte order.
    read_pieces : callable
        ``read_pieces()`` returns an iterable of pieces of whole images,
        each a list over channels of an array of rows ``(images in the
        piece, H * W)``; together they hold every image once, in order.
    read_image : callable
        ``read_image(i)`` returns image ``i`` as a list over channels of one
        row ``(H * W,)``.
    """

    images: int
    channels: int
    layout: object
    dtype: np.dtype
    read_pieces: Callable = field(repr=False)
    read_image: Callable = field(repr=False)
    mask = None

    def pieces(self):
        """As :meth:`StackView.pieces`: each piece read when it is reached."""
        for piece in self.read_pieces():
            yield [(rows, None) for rows in piece]

    def image(self, i):
        """As :meth:`StackView.image`: reads image ``i``."""
        return [(row, None) for row in self.read_image(i)]

    def channel(self, c):
        """``(rows, None)``: every image of channel ``c``, read into memory at once.

        For resolvers that need a whole channel as one array; one that can
        work piece by piece uses :meth:`pieces` instead.
        """
        return np.concatenate([piece[c] for piece in self.read_pieces()]), None


def image_from_images(images: Callable) -> Callable:
    """An ``image`` hook made from an ``images`` hook: one image as a block of one.

    For a method whose batch hook is its only computation (and which takes
    no mask): ``image(pixels, mask, params)`` gives what ``images`` gives
    for that image, as float64.
    """
    def image(pixels, mask, params):
        x = np.ascontiguousarray(pixels)
        out = np.empty((1,) + x.shape)
        images(x[np.newaxis], params, out)
        return out[0]
    image.__doc__ = f"{images.__name__} of one image, as float64 in [0, 1]."
    return image


def _no_args(params):
    return ()


@dataclass(frozen=True)
class RowLoop:
    """A ``table`` or ``nodes`` hook as a loop over one sample, compiled by the engine.

    See the module docstring for the loops' arguments.

    Attributes
    ----------
    function : callable
        A module-level function in numba's subset of Python (loops over
        arrays, ``np`` math on scalars; no NumPy array functions needed).
        The engine compiles it with numba (``nogil``, NumPy's error model:
        a division by zero gives inf or NaN, as in NumPy), caching it on
        disk beside its module, which itself never imports numba.
    args : callable
        ``args(params) -> tuple of float``: the method's resolved
        parameters as the loop takes them (its ``args`` array).
    scale : float
        For a ``nodes_loop``: the divisor of the interpolated value, as the
        ``Nodes`` of the ``nodes`` hook have it.
    """

    function: Callable
    args: Callable = _no_args
    scale: float = 1.0


@dataclass(frozen=True, eq=False)
class Method:
    """A registered equalization method: what it is, and how it maps.

    Attributes
    ----------
    name : str
        The one name used by the API, ``histeq --method`` and the viewer.
    label : str
        A short human name ("NumPy recipe").
    summary : str
        One line: what it does.
    reference : str
        What it reproduces exactly.
    source : str
        The source file or document that reference follows.
    how : str
        How it works, as Markdown: for a built-in method its module's
        docstring, less the title line (``how=how_from_docstring(__doc__)``:
        the method is explained once, where its code is).
    formula : str
        The mapping as one formula in HTML (``<sub>``, entities), shown in
        the viewer's "How it works" page; empty when ``how`` says it all.
    params : tuple of Param
        Its parameters, ``bins`` included if it uses bins.
    scopes : tuple of str
        Supported scopes among "image" and "stack".
    dtypes : str
        Kinds of images it supports ("uif": unsigned, signed, float).
    value_cells : str
        Kinds of images mapped by a ``table`` over integer values (the
        method ignores ``bins`` for them); for a whole-image method, the
        kinds its table maps instead of its image hook, or without a table
        hook the kinds whose integer values its image hook works on
        directly (OpenCV's CLAHE on 8- and 16-bit images), ignoring
        ``bins``.
    value_bits : int
        Integers of the ``value_cells`` kinds up to this many bits are
        mapped over their values; wider ones over ``bins`` equal-width bins
        (ImageJ: 16, its 8- and 16-bit images).  See :meth:`by_value`.
    masks : bool
        False for a method that cannot use a mask (CLAHE): a mask is then
        refused with a one-line error.
    nodes, table, image, images, curve : callable, optional
        The hooks (see the module docstring).
    table_loop, nodes_loop : RowLoop, optional
        The ``table`` and ``nodes`` hooks as compiled loops over one sample
        (see the module docstring).
    bins_note : callable, optional
        ``bins_note(dtype, bins, params) -> str or None``: a sentence on how
        the method fills its bins for images of ``dtype`` with these
        parameters (given ones only; missing ones at their defaults), which
        the viewer shows beside its bins control; None for nothing to say.
    """

    name: str
    label: str
    summary: str
    reference: str
    source: str
    how: str
    formula: str = ""
    params: tuple = ()
    scopes: tuple = SCOPES
    dtypes: str = "uif"
    value_cells: str = ""
    value_bits: int = 64
    masks: bool = True
    nodes: Callable | None = field(default=None, repr=False)
    table: Callable | None = field(default=None, repr=False)
    image: Callable | None = field(default=None, repr=False)
    images: Callable | None = field(default=None, repr=False)
    curve: Callable | None = field(default=None, repr=False)
    table_loop: RowLoop | None = field(default=None, repr=False)
    nodes_loop: RowLoop | None = field(default=None, repr=False)
    bins_note: Callable | None = field(default=None, repr=False)

    def __post_init__(self):
        if not self.name or not self.name.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"a method name is letters, digits, '-' and '_', got {self.name!r}")
        names = [p.name for p in self.params]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.name}: parameter names repeat: {names}")
        if not set(self.scopes) <= set(SCOPES) or not self.scopes:
            raise ValueError(f"{self.name}: scopes must be among {SCOPES}")
        if not set(self.dtypes) <= set(KIND_NAMES) or not self.dtypes:
            raise ValueError(f"{self.name}: dtypes must be kinds among 'uif'")
        if self.image is None and (self.curve is not None or self.images is not None
                                   or self.stack_aware):
            raise ValueError(f"{self.name}: a curve hook, an images hook and stack-aware "
                             f"parameters need an image hook")
        if (self.table_loop is not None and self.table is None) or \
                (self.nodes_loop is not None and self.nodes is None):
            raise ValueError(f"{self.name}: a table_loop needs a table hook and a nodes_loop "
                             f"a nodes hook (the loop is that hook, compiled)")
        if self.value_bits not in (8, 16, 32, 64):
            raise ValueError(f"{self.name}: value_bits must be 8, 16, 32 or 64")
        if self.image is not None:
            if self.nodes is not None or (self.table is not None and not self.value_cells):
                raise ValueError(f"{self.name}: an image method has no nodes hook, and a table "
                                 f"hook only with value_cells (the kinds it maps)")
            if self.scopes != ("image",):
                raise ValueError(f"{self.name}: an image method has only the 'image' scope")
            return
        if self.value_cells and self.table is None:
            raise ValueError(f"{self.name}: value_cells needs a table hook")
        if self.nodes is None and self.table is None:
            raise ValueError(f"{self.name}: give a nodes, table or image hook")

    # ------------------------------------------------------------------ questions

    def param(self, name):
        """The :class:`Param` called ``name``, or None."""
        return next((p for p in self.params if p.name == name), None)

    def by_value(self, dtype):
        """True if images of ``dtype`` are mapped by a table over their integer values."""
        dtype = np.dtype(dtype)
        return dtype.kind in self.value_cells and 8 * dtype.itemsize <= self.value_bits

    @property
    def stack_aware(self):
        """The parameters resolved against the stack (:class:`Param`'s ``resolve``)."""
        return tuple(p for p in self.params if p.resolve is not None)

    def kind(self, dtype):
        """How images of ``dtype`` are mapped: "nodes", "table" or "image"."""
        if self.image is not None and (self.table is None or not self.by_value(dtype)):
            return "image"
        if self.by_value(dtype) or self.nodes is None:
            return "table"
        return "nodes"

    def ignores_bins(self, dtype):
        """True when ``bins`` does not change the result for images of ``dtype``.

        That is scikit-image, OpenCV and the textbook on integer images,
        ImageJ on 8- and 16-bit ones (one cell per integer value; see
        :meth:`by_value`), and a method without ``bins``; the viewer says
        so next to the bins control and the export's sidecar records it.
        """
        bins = self.param("bins")
        return bins is None or not bins.used_for(dtype) or self.by_value(dtype)

    def supports(self, dtype):
        """True if images of ``dtype`` can be equalized with this method."""
        return np.dtype(dtype).kind in self.dtypes

    # ---------------------------------------------------------------- validation

    def check_scope(self, scope):
        """Return ``scope`` if this method supports it, else a one-line ValueError."""
        if scope not in self.scopes:
            raise ValueError(f"the {self.name} method works on each image by itself and has "
                             f"no {scope!r} scope; use scope='image'")
        return scope

    def check_mask(self, mask):
        """Return ``mask`` if this method can use it (or it is None), else a one-line ValueError."""
        if mask is not None and not self.masks:
            raise ValueError(f"the {self.name} method takes no mask: it uses every pixel of "
                             f"each image; leave the mask out or choose another method")
        return mask

    def check_dtype(self, dtype):
        """Return ``dtype`` if this method supports it, else a one-line ValueError."""
        dtype = np.dtype(dtype)
        if not self.supports(dtype):
            kinds = " and ".join(KIND_NAMES[k] for k in self.dtypes)
            raise ValueError(f"the {self.name} method works on {kinds} images, not {dtype}; "
                             f"convert the images or choose another method")
        return dtype

    def resolve_params(self, dtype, **params):
        """All parameters for images of ``dtype``: the given ones checked, defaults for the rest.

        ``bins`` is always accepted (it is an argument of ``equalize``);
        other names must be this method's.

        Returns
        -------
        dict
            ``{name: value}`` for every parameter of the method.

        Raises
        ------
        ValueError
            One line: an unknown name (naming the method's parameters) or a
            value out of range (naming the range).

        Examples
        --------
        >>> from histeq_gui.core.methods import get_method
        >>> get_method("numpy").resolve_params("uint8")
        {'bins': 256}
        >>> get_method("numpy").resolve_params("uint8", level=3)
        Traceback (most recent call last):
        ...
        ValueError: the numpy method has no parameter 'level'; its parameters: bins
        """
        known = {p.name: p for p in self.params}
        for name in params:
            if name not in known and name != "bins":
                names = ", ".join(known) or "none"
                raise ValueError(f"the {self.name} method has no parameter {name!r}; "
                                 f"its parameters: {names}")
        if "bins" in params:
            check_bins(params["bins"])
        resolved = {name: p.check(params[name], self.name)
                    for name, p in known.items() if name in params}
        bins = resolved.get("bins", params.get("bins", known["bins"].default
                                               if "bins" in known else bins_param().default))
        return {name: resolved[name] if name in resolved else p.default_for(dtype, bins)
                for name, p in known.items()}
