"""Evaluation: the papers' protocol (best-of-N PSNR/SSIM/LPIPS, FVD), results files, figures and analyses."""
