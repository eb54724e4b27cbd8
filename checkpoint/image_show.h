// What an image holds, for a person (text) or a script (JSON).
#pragma once

#include <string>

#include "checkpoint/image_format.h"

namespace mosix {

std::string ImageToText(const LoadedImage& image);
std::string ImageToJson(const LoadedImage& image);

}  // namespace mosix
