import Foundation
import Testing

import Plotting
