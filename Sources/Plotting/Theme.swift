/// The Okabe–Ito palette (Okabe & Ito, "Color Universal Design", 2008): eight colours that stay
/// distinct under the common forms of colour blindness. Series take them in `Palette.series` order.
public enum Palette {
    public static let black = Color(hex: 0x000000)
    public static let orange = Color(hex: 0xE69F00)
    public static let skyBlue = Color(hex: 0x56B4E9)
    public static let bluishGreen = Color(hex: 0x009E73)
    public static let yellow = Color(hex: 0xF0E442)
    public static let blue = Color(hex: 0x0072B2)
    public static let vermillion = Color(hex: 0xD55E00)
    public static let reddishPurple = Color(hex: 0xCC79A7)

    /// The order series are coloured in; yellow, weakest on white, comes last.
    public static let series: [Color] = [blue, vermillion, bluishGreen, orange, reddishPurple, skyBlue, black, yellow]

    /// The `index`-th series colour, cycling.
    public static func color(_ index: Int) -> Color { series[index % series.count] }
}

/// Fonts, sizes, strokes and colours shared by every chart, so that all figures look alike.
public struct Theme: Sendable {
    /// The font family, named explicitly so that output does not depend on fontconfig's fallbacks.
    public var fontFamily = "DejaVu Sans"
    public var tickLabelSize = 7.5
    public var axisLabelSize = 8.5
    public var titleSize = 9.0
    public var figureTitleSize = 10.0
    public var legendSize = 7.5
    public var textColor = Color(hex: 0x222222)
    public var axisColor = Color(hex: 0x444444)
    public var gridColor = Color(hex: 0xE4E4E4)
    public var background = Color.white
    public var axisWidth = 0.7
    public var gridWidth = 0.5
    public var lineWidth = 1.4
    public var tickLength = 3.5
    public var minorTickLength = 2.0
    /// Space between a panel's parts (ticks, labels, title), in points.
    public var gap = 3.0
    /// Outer margin of the figure, in points.
    public var margin = 6.0

    public init() {}

    public static let standard = Theme()

    var tickStyle: TextStyle { TextStyle(family: fontFamily, size: tickLabelSize, color: textColor) }
    var axisLabelStyle: TextStyle { TextStyle(family: fontFamily, size: axisLabelSize, color: textColor) }
    var titleStyle: TextStyle { TextStyle(family: fontFamily, size: titleSize, color: textColor, bold: true) }
    var figureTitleStyle: TextStyle {
        TextStyle(family: fontFamily, size: figureTitleSize, color: textColor, bold: true)
    }
    var legendStyle: TextStyle { TextStyle(family: fontFamily, size: legendSize, color: textColor) }
}
