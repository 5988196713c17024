"""Pictures of the estimates: the input crop beside the 3D skeleton seen from the camera and
from a fixed view, limbs coloured left (blue) and right (red) as in the sample figure; one
PNG per image, a contact sheet, a video of the skeleton beside the frames (PyAV).

Poses are (17, 3) mm, root-relative, camera frame (x right, y down, z away from the camera)."""
import numpy as np

from structnet.geometry import skeleton as S

COLOURS = {"left": (60 / 255, 160 / 255, 1.0), "right": (1.0, 80 / 255, 60 / 255), "centre": (0.85, 0.7, 0.1)}
REACH_MM = 1000          # half the side of the box drawn around the pelvis


def _side(j):
    return "left" if j in S.LEFT else "right" if j in S.RIGHT else "centre"


def _camera_view(ax, pose):
    for a, b in S.BONES:
        ax.plot(pose[[a, b], 0], pose[[a, b], 1], color=COLOURS[_side(b)], lw=2)
    ax.scatter(pose[:, 0], pose[:, 1], s=6, c="k")
    ax.set_xlim(-REACH_MM, REACH_MM)
    ax.set_ylim(REACH_MM, -REACH_MM)                  # y down, as the image
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])


def _fixed_view(ax, pose):
    x, y, z = pose[:, 0], pose[:, 2], -pose[:, 1]    # plot: x right, depth, up
    for a, b in S.BONES:
        ax.plot(x[[a, b]], y[[a, b]], z[[a, b]], color=COLOURS[_side(b)], lw=2)
    ax.set_xlim(-REACH_MM, REACH_MM)
    ax.set_ylim(-REACH_MM, REACH_MM)
    ax.set_zlim(-REACH_MM, REACH_MM)
    ax.set_box_aspect((1, 1, 1))
    ax.view_init(elev=15, azim=-60)
    ax.set_xticklabels([])
    ax.set_yticklabels([])
    ax.set_zticklabels([])


def draw_row(axes, crop, pose, title=None):
    """Three axes (the third 3D): the crop, the camera's view, the fixed view."""
    axes[0].imshow(crop)
    axes[0].set_axis_off()
    if title:
        axes[0].set_title(title, fontsize=8)
    _camera_view(axes[1], pose)
    _fixed_view(axes[2], pose)


def figure(crop, pose, title=None):
    """A matplotlib Figure of one estimate (9 x 3 inches)."""
    from matplotlib.figure import Figure
    fig = Figure(figsize=(9, 3), dpi=100)
    axes = [fig.add_subplot(1, 3, 1), fig.add_subplot(1, 3, 2), fig.add_subplot(1, 3, 3, projection="3d")]
    draw_row(axes, crop, pose, title)
    axes[1].set_title("camera's view", fontsize=8)
    axes[2].set_title("fixed view", fontsize=8)
    fig.tight_layout()
    return fig


def to_array(fig):
    """uint8 (H,W,3) pixels of a Figure."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def save_png(fig, path):
    from structnet.io import atomic_write
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    FigureCanvasAgg(fig)
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png"))


def sheet(crops, poses, titles, path, cols=2):
    """One PNG of every estimate: ``cols`` (crop, camera, fixed) triples a row."""
    from matplotlib.figure import Figure
    n = len(crops)
    rows = (n + cols - 1) // cols
    fig = Figure(figsize=(9 * cols, 3 * rows), dpi=80)
    for i in range(n):
        r, c = divmod(i, cols)
        base = r * 3 * cols + c * 3
        axes = [fig.add_subplot(rows, 3 * cols, base + 1), fig.add_subplot(rows, 3 * cols, base + 2),
                fig.add_subplot(rows, 3 * cols, base + 3, projection="3d")]
        draw_row(axes, crops[i], poses[i], titles[i])
    fig.tight_layout()
    save_png(fig, path)


def video(crops, poses, titles, fps, path, progress=None):
    """An MP4 (H.264) of the estimates of a video's frames, one picture a frame, at ``fps``;
    written under a temporary name (Ctrl-C between frames removes it), then renamed."""
    import av
    from structnet.interrupt import check_interrupt
    from structnet.io import atomic_write

    def write(tmp):
        with av.open(tmp, "w", format="mp4") as out:
            stream = out.add_stream("libx264" if _has("libx264") else "mpeg4", rate=max(1, round(fps)))
            stream.pix_fmt = "yuv420p"
            for i in range(len(crops)):
                check_interrupt()
                rgb = to_array(figure(crops[i], poses[i], titles[i]))
                if i == 0:                   # every picture has the first's size (a fixed figure)
                    h, w = rgb.shape[0] // 2 * 2, rgb.shape[1] // 2 * 2
                    stream.height, stream.width = h, w
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb[:h, :w]), format="rgb24")
                for packet in stream.encode(frame):
                    out.mux(packet)
                if progress:
                    progress.update(1)
            for packet in stream.encode():
                out.mux(packet)
    atomic_write(path, write, hold_interrupt=False)


def _has(codec):
    import av
    try:
        av.codec.Codec(codec, "w")
        return True
    except Exception:                      # noqa: BLE001 - PyAV raises its own kinds by version
        return False
