"""Human3.6M on users' disks -> the project's dataset schema (``structnet.data.dataset``).

Modules: ``names`` (joints, actions, cameras, file names), ``metadata`` (metadata.xml:
cameras from ``w0``, the sequence table), ``formats`` (CDF poses, v7.3 .mat masks,
video frames, crops), ``layout`` (finding sequences in the official release and in the
h36m-fetch layout), ``extract`` (parallel, resumable extraction with a problem report),
``npz`` (VideoPose3D's ``data_3d_h36m.npz`` as a pose-only source).
"""
