/**
 * Image file to vision-tower input, bit-identical to the reference (Pillow 9.4 decode and {@code convert("RGB")},
 * mPLUG-Owl2's aspect step, transformers 4.31 CLIPImageProcessor): {@link dev.owl2j.model.image.ImageDecoder},
 * {@link dev.owl2j.model.image.PillowBicubic}, {@link dev.owl2j.model.image.ImagePreprocessor}. See docs/images.md.
 */
package dev.owl2j.model.image;
